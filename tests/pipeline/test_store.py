"""The case store on SQLite and on the real local PostgreSQL server."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect

from pipeline.domain import CaseState, Channel, Prediction
from pipeline.ingest import build_message
from pipeline.routing import route
from pipeline.store import open_store

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _message(n: int, body: str = "Soporna hämtades inte i tisdags. Ring mig på 070-123 45 67."):
    return build_message(source="test", external_id=f"<m{n}@x>", channel=Channel.EMAIL,
                         received_at=T0 + timedelta(minutes=n), sender="a@b.se", subject="Sopor", body=body,
                         raw_ref=f"mail/{n}.eml")


def _prediction(topic="avfall", urgency="hog", confidence=0.9):
    return Prediction(topic=topic, urgency=urgency, topic_probabilities={topic: confidence, "bygglov": 1 - confidence},
                      urgency_probabilities={urgency: 0.8}, model_version="test/1")


def test_migration_creates_schema_and_is_idempotent(store_url):
    store = open_store(store_url)
    store.migrate()
    assert {"inquiries", "cases", "alembic_version"} <= set(inspect(store.engine).get_table_names())
    store.dispose()


def test_ingest_is_idempotent_and_keeps_raw_text_apart(store_url):
    store = open_store(store_url)
    assert store.add_messages([_message(1), _message(2)]) == 2
    assert store.add_messages([_message(1), _message(2), _message(3)]) == 1
    assert store.count_by_state() == {"new": 3}
    inquiry = store.new_inquiries()[0]
    assert "[TELEFON]" in inquiry.body and "070" not in inquiry.body
    assert inquiry.sender == "[EPOST]"
    assert store.raw_original(inquiry.id) == ("a@b.se", "Sopor", _message(1).raw_body)
    assert "070-123 45 67" in store.raw_original(inquiry.id)[2]
    store.dispose()


def test_routing_fills_queues_urgent_first(store_url, tenant):
    store = open_store(store_url)
    store.add_messages([_message(n) for n in range(4)])
    urgencies = ["normal", "akut", "lag", "hog"]
    for inquiry, urgency in zip(store.new_inquiries(), urgencies, strict=True):
        prediction = _prediction(urgency=urgency)
        store.record_routing(inquiry.id, prediction, route(prediction, tenant, inquiry.received_at))
    assert store.new_inquiries() == []
    [count] = store.queue_counts()
    assert (count.queue, count.open_cases, count.urgent, count.needs_review) == ("vatten_avfall", 4, 1, 0)
    listed = store.list_queue("vatten_avfall")
    assert [c.prediction.urgency for c in listed] == ["akut", "hog", "normal", "lag"]
    assert all(c.state == CaseState.ROUTED for c in listed)
    assert listed[0].routing.trace
    store.dispose()


def test_a_routed_case_is_not_routed_again(store_url, tenant):
    store = open_store(store_url)
    store.add_messages([_message(1)])
    inquiry = store.new_inquiries()[0]
    first = _prediction(topic="avfall")
    store.record_routing(inquiry.id, first, route(first, tenant, T0))
    second = _prediction(topic="bygglov")
    store.record_routing(inquiry.id, second, route(second, tenant, T0))
    assert store.list_queue("vatten_avfall")[0].prediction.topic == "avfall"
    store.dispose()
