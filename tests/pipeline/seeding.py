"""Cases for the queue, web and browser tests: stored, predicted and routed like the triage flow does it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipeline.config import TenantConfig
from pipeline.domain import Channel, Prediction
from pipeline.ingest import build_message
from pipeline.routing import route
from pipeline.store import CaseStore

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday, in office hours


@dataclass(frozen=True)
class Seed:
    topic: str
    urgency: str = "normal"
    confidence: float = 0.9
    body: str = "Hej, jag har en fråga. Ring mig på 070-123 45 67."
    received_at: datetime = T0


OTHER_TOPICS = ("kommun_allmant", "avfall", "bygglov", "parkering", "forskola", "idrott_fritid", "fardtjanst",
                "kultur_bibliotek", "plan_mark", "skolskjuts", "park_natur", "gata_trafik")
# How far the runner-up stays below the topic: above every tenant's min_topic_margin, so only confidence counts.
MARGIN = 0.12


def topic_probabilities(topic: str, confidence: float) -> dict[str, float]:
    """`topic` at `confidence`, the rest spread evenly over enough other topics that the runner-up stays MARGIN
    below it (as far as the list allows), as a model's output would look."""
    others = [t for t in OTHER_TOPICS if t != topic]
    needed = math.ceil((1 - confidence) / (confidence - MARGIN)) if confidence > MARGIN else len(others)
    count = max(1, min(len(others), needed))
    return {topic: confidence, **{other: (1 - confidence) / count for other in others[:count]}}


def prediction(topic: str, urgency: str = "normal", confidence: float = 0.9, version: str = "test/1") -> Prediction:
    return Prediction(topic=topic, urgency=urgency, topic_probabilities=topic_probabilities(topic, confidence),
                      urgency_probabilities={urgency: 0.8}, model_version=version)


def seed_cases(store: CaseStore, tenant: TenantConfig, seeds: list[Seed], start: int = 0) -> list[str]:
    """Store and route one case per seed; returns the case ids in seed order."""
    ids = []
    for n, spec in enumerate(seeds, start=start):
        message = build_message(source="test", external_id=f"<seed{n}@x>", channel=Channel.EMAIL,
                                received_at=spec.received_at + timedelta(seconds=n), sender="anna@example.se",
                                subject=f"Ärende {n}", body=spec.body, raw_ref=f"mail/{n}.eml")
        store.add_messages([message])
        inquiry = message.inquiry
        guess = prediction(spec.topic, spec.urgency, spec.confidence)
        store.record_routing(inquiry.id, guess, route(guess, tenant, inquiry.received_at, inquiry.body))
        ids.append(inquiry.id)
    return ids
