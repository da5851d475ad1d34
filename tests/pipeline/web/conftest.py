"""A web app over a seeded SQLite case store, with handlers in three departments."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pipeline.store import open_store
from pipeline.users import UserDirectory
from pipeline.web.app import WebConfig
from tests.pipeline.seeding import Seed, seed_cases

PASSWORD = "ett-langt-losenord"
HANDLERS = {  # username: (department, role)
    "tove": ("teknik", "handlaggare"),
    "tea": ("teknik", "assistent"),
    "sara": ("socialtjanst", "handlaggare"),
    "kim": ("kontaktcenter", "handlaggare"),
}
SEEDS = {
    "pothole": Seed("gata_trafik", "hog", body="Stort hål i gatan utanför nr 4. Ring mig på 070-123 45 67."),
    "snow": Seed("vinterunderhall", "akut", body="Ingen har plogat backen, bussen kommer inte upp."),
    "parking": Seed("parkering", "lag", body="Kan jag få boendeparkering?"),
    "child": Seed("barn_unga_familj", "hog", body="Orosanmälan: grannens barn är ensamma hemma, ring 070-999 88 77."),
    "unsure": Seed("kommun_allmant", "normal", confidence=0.2, body="Jag undrar över något som hänt."),
}


@dataclass
class SeededApp:
    config: WebConfig
    ids: dict[str, str]


@pytest.fixture
def seeded(tmp_path, tenant, taxonomy) -> SeededApp:
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    store = open_store(url)
    ids = dict(zip(SEEDS, seed_cases(store, tenant, list(SEEDS.values())), strict=True))
    directory = UserDirectory(store.engine, tenant)
    for username, (department, role) in HANDLERS.items():
        directory.add(username, PASSWORD, department, role, username.capitalize())
    store.dispose()
    topic_names = {t.code: t.name for t in taxonomy.topics}
    return SeededApp(WebConfig(store_url=url, tenant=tenant, topic_names=topic_names), ids)
