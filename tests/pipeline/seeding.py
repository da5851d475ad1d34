"""Cases for the queue, web and browser tests: stored, predicted and routed like the triage flow does it."""

from __future__ import annotations

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


def prediction(topic: str, urgency: str = "normal", confidence: float = 0.9, runner_up: str = "kommun_allmant",
               version: str = "test/1") -> Prediction:
    other = runner_up if runner_up != topic else "avfall"
    return Prediction(topic=topic, urgency=urgency, topic_probabilities={topic: confidence, other: 1 - confidence},
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
