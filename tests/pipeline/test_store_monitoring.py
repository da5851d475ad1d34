"""The store's monitoring view: routed cases of a window, with the queue routing first chose."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from pipeline.domain import Channel, Inquiry, Prediction, RoutingDecision
from pipeline.store import CaseRow, CaseStore, StoredMessage


def _message(n: int) -> StoredMessage:
    inquiry = Inquiry(id=f"i{n}", source="test", channel=Channel.EMAIL, received_at=datetime(2026, 11, 2, tzinfo=UTC),
                      body=f"Fråga {n}")
    return StoredMessage(inquiry=inquiry, external_id=f"ext-{n}", raw_sender=None, raw_subject=None, raw_body=f"Fråga {n}")


def _route(store: CaseStore, n: int, queue: str) -> None:
    prediction = Prediction(topic="avfall", urgency="normal", topic_probabilities={"avfall": 0.7, "vatten": 0.3},
                            urgency_probabilities={"normal": 1.0}, model_version="m/1")
    decision = RoutingDecision(queue=queue, priority=3, sla_hours=48, needs_review=False, mapping_version="v1", trace=[])
    store.record_routing(f"i{n}", prediction, decision)


def test_snapshots_cover_routed_cases_of_the_window(store_url):
    store = CaseStore(store_url)
    store.migrate()
    store.add_messages(_message(n) for n in range(4))
    for n in range(3):
        _route(store, n, "vatten_avfall")
    # A handler moved case i2 to another queue (as the handlers' app records reroutes).
    with Session(store.engine) as session, session.begin():
        session.execute(update(CaseRow).where(CaseRow.id == "i2").values(queue="samhallsbyggnad", state="rerouted"))
    now = datetime.now(UTC)
    snapshots = store.routed_snapshots(now - timedelta(hours=1), now + timedelta(minutes=1))
    assert [(s.first_queue, s.rerouted) for s in snapshots] == [("vatten_avfall", False)] * 2 + [("vatten_avfall", True)]
    assert snapshots[0].topic_confidence == 0.7 and snapshots[0].topic == "avfall"
    assert store.routed_snapshots(now + timedelta(minutes=1)) == []
    store.dispose()
