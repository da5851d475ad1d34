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
            "VALUES ('old1', 'maildrop:<old@x>', 'maildrop', 'email', '2026-11-02 08:00:00+00', 'Hej', 'Hej', "
            "'2026-11-02 08:00:00+00')"))
        connection.execute(text("INSERT INTO cases (id, inquiry_id, state, updated_at) "
                                "VALUES ('old1', 'old1', 'new', '2026-11-02 08:00:00+00')"))
    store = open_store(store_url)  # upgrades to head
    assert store.case_of("old1") == "old1" and [i.id for i in store.thread("old1")] == ["old1"]
    # The old mail is recognised under its new key: ingested again, it is not stored twice; a reply joins it.
    from pipeline.ingest import SourceItem, parse_eml, store_messages

    def item(data: bytes) -> SourceItem:
        return SourceItem("imap", "imap", "x", "", parse_eml(data, source="imap", raw_ref="x"))

    again = b"From: a@x\nMessage-ID: <old@x>\nSubject: Hej\n\nHej kommunen\n"
    reply = b"From: a@x\nMessage-ID: <new@x>\nIn-Reply-To: <old@x>\nSubject: SV: Hej\n\nInget svar \xc3\xa4n\n"
    assert store_messages([item(again), item(reply)], store).stored == 1
    assert len(store.thread("old1")) == 2
    assert "quarantine" in inspect(engine).get_table_names()
    store.dispose()

    command.downgrade(_alembic(store_url), "0001")
    inspector = inspect(engine)
    assert "quarantine" not in inspector.get_table_names()
    assert "case_id" not in {column["name"] for column in inspector.get_columns("inquiries")}
    command.upgrade(_alembic(store_url), "head")
    engine.dispose()
