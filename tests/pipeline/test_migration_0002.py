"""Migration 0002 on a case store that already holds inquiries at 0001: threads back-filled, down and up again."""

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

from pipeline.store import MIGRATIONS_DIR, open_store


def _alembic(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


def test_upgrade_from_0001_keeps_every_inquiry_its_own_case_and_downgrades(store_url):
    command.upgrade(_alembic(store_url), "0001")
    engine = create_engine(store_url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO inquiries (id, external_id, source, channel, received_at, body, raw_body, ingested_at) "
            "VALUES ('old1', 'mail:<old@x>', 'maildrop', 'email', '2026-11-02 08:00:00+00', 'Hej', 'Hej', "
            "'2026-11-02 08:00:00+00')"))
        connection.execute(text("INSERT INTO cases (id, inquiry_id, state, updated_at) "
                                "VALUES ('old1', 'old1', 'new', '2026-11-02 08:00:00+00')"))
    store = open_store(store_url)  # upgrades to head
    assert store.case_of("old1") == "old1" and [i.id for i in store.thread("old1")] == ["old1"]
    assert "quarantine" in inspect(engine).get_table_names()
    store.dispose()

    command.downgrade(_alembic(store_url), "0001")
    inspector = inspect(engine)
    assert "quarantine" not in inspector.get_table_names()
    assert "case_id" not in {column["name"] for column in inspector.get_columns("inquiries")}
    command.upgrade(_alembic(store_url), "head")
    engine.dispose()
