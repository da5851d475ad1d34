"""Routing: a prediction and a municipality's configuration decide queue, priority, SLA and review."""

from __future__ import annotations

from datetime import datetime

from pipeline.config import TenantConfig
from pipeline.domain import Prediction, RoutingDecision


def route(prediction: Prediction, tenant: TenantConfig, received_at: datetime) -> RoutingDecision:
    """Queue from the topic mapping in force when the inquiry arrived; priority and SLA from urgency (after red
    flags); manual triage when the model's policy asks for review, or the tenant's own floor is not met."""
    mapping = tenant.mapping_at(received_at)
    urgency = tenant.urgency[prediction.urgency]  # type: ignore[index]
    queue = mapping.topics[prediction.topic]
    trace = [
        f"topic {prediction.topic} ({prediction.topic_confidence:.2f}) -> {queue} by mapping {mapping.version}",
        f"urgency {prediction.urgency} ({prediction.urgency_confidence:.2f}) -> priority {urgency.priority}, "
        f"SLA {urgency.sla_hours:g} h",
    ]
    trace += prediction.red_flags
    if prediction.alerts:
        trace.append(f"alert: {', '.join(prediction.alerts)}")
    ranked = sorted(prediction.topic_probabilities.values(), reverse=True)
    margin = ranked[0] - ranked[1] if len(ranked) > 1 else ranked[0]
    rules = tenant.review
    needs_review = prediction.needs_review
    trace += prediction.review_reasons
    if prediction.topic_confidence < rules.min_topic_confidence:
        needs_review = True
        trace.append(f"topic confidence {prediction.topic_confidence:.2f} < {rules.min_topic_confidence:.2f}")
    if margin < rules.min_topic_margin:
        needs_review = True
        trace.append(f"margin to second topic {margin:.2f} < {rules.min_topic_margin:.2f}")
    if needs_review:
        queue = tenant.review_queue
        trace.append(f"-> {queue} for manual sorting")
    return RoutingDecision(
        queue=queue,
        priority=urgency.priority,
        sla_hours=urgency.sla_hours,
        needs_review=needs_review,
        mapping_version=mapping.version,
        trace=trace,
    )
