"""Routing: a prediction and a municipality's configuration decide queue, priority, SLA, review, visibility,
alert instructions and referral, and every decision carries the trace it was made from."""

from __future__ import annotations

import re
from datetime import datetime

from pipeline.config import TenantConfig
from pipeline.domain import Prediction, RoutingDecision

TOP_TOPICS_IN_TRACE = 3


def suggest_authority(tenant: TenantConfig, text: str) -> tuple[str | None, str]:
    """The first configured authority whose patterns match the text, as (id, 'Name (contact)'), else the fallback."""
    if tenant.referral is None:
        return None, ""
    for code, authority in tenant.referral.authorities.items():
        for pattern in authority.patterns:
            match = re.search(pattern, text, re.IGNORECASE)
            if match:
                return code, f"{authority.name} ({authority.contact}); matched '{match.group(0)}'"
    return None, tenant.referral.fallback


def route(prediction: Prediction, tenant: TenantConfig, received_at: datetime, text: str | None = None) -> RoutingDecision:
    """Queue from the topic mapping in force when the inquiry arrived; priority and SLA from urgency (after red
    flags); manual triage when the model's policy asks for review, or the tenant's own floor is not met.
    Sensitive topics are restricted to the owning department; red-flag alerts get the instruction for office
    hours or after hours; a referral names the authority found in `text` (the redacted subject and body)."""
    mapping = tenant.mapping_at(received_at)
    urgency = tenant.urgency[prediction.urgency]  # type: ignore[index]
    queue = mapping.topics[prediction.topic]
    rule_hits = [f"mapping:{mapping.version}"]
    trace = [
        f"topic {prediction.topic} ({prediction.topic_confidence:.2f}) -> {queue} by mapping {mapping.version}",
        f"urgency {prediction.urgency} ({prediction.urgency_confidence:.2f}) -> priority {urgency.priority}, "
        f"SLA {urgency.sla_hours:g} h",
    ]
    trace += prediction.red_flags
    rule_hits += [f"red_flag:{line.split(':', 1)[0].removeprefix('red flag ')}" for line in prediction.red_flags]

    local = tenant.local_time(received_at)
    after_hours = not tenant.office_hours.is_open(local)
    instructions = []
    for alert in prediction.alerts:
        rule_hits.append(f"alert:{alert}")
        spec = tenant.alerts.get(alert)
        when = f"{'after hours' if after_hours else 'office hours'}, {local:%a %H:%M} {tenant.timezone}"
        if spec is None:
            instructions.append(f"{alert}: no instruction configured for {tenant.name}; call 112 if life is at risk")
        else:
            instructions.append(f"{spec.name}: {spec.after_hours if after_hours else spec.office_hours}")
        trace.append(f"alert {alert} ({when}): {instructions[-1]}")

    ranked = sorted(prediction.topic_probabilities.values(), reverse=True)
    margin = ranked[0] - ranked[1] if len(ranked) > 1 else ranked[0]
    rules = tenant.review
    needs_review = prediction.needs_review
    if needs_review:
        rule_hits.append("review:model_policy")
    trace += prediction.review_reasons
    if prediction.topic_confidence < rules.min_topic_confidence:
        needs_review = True
        rule_hits.append("review:min_topic_confidence")
        trace.append(f"topic confidence {prediction.topic_confidence:.2f} < {rules.min_topic_confidence:.2f}")
    if margin < rules.min_topic_margin:
        needs_review = True
        rule_hits.append("review:min_topic_margin")
        trace.append(f"margin to second topic {margin:.2f} < {rules.min_topic_margin:.2f}")

    referral = None
    if needs_review:
        queue = tenant.review_queue
        trace.append(f"-> {queue} for manual sorting")
    elif tenant.referral is not None and prediction.topic == tenant.referral.topic:
        authority, referral = suggest_authority(tenant, text or "")
        rule_hits.append(f"referral:{authority or 'fallback'}")
        trace.append(f"referral: {referral}")

    # A sensitive topic stays restricted even when it lands in manual triage: the triage desk sees it, no one else.
    restricted = prediction.topic in tenant.sensitive_topics
    if restricted:
        rule_hits.append("restricted:sensitive_topic")
        trace.append(f"restricted: {prediction.topic} is a sensitive topic; only {tenant.department_of(queue)} sees it")

    top = sorted(prediction.topic_probabilities.items(), key=lambda kv: -kv[1])[:TOP_TOPICS_IN_TRACE]
    return RoutingDecision(
        queue=queue,
        priority=urgency.priority,
        sla_hours=urgency.sla_hours,
        needs_review=needs_review,
        mapping_version=mapping.version,
        trace=trace,
        department=tenant.department_of(queue),
        restricted=restricted,
        referral=referral,
        after_hours=after_hours,
        instructions=instructions,
        rule_hits=rule_hits,
        thresholds={"min_topic_confidence": rules.min_topic_confidence, "min_topic_margin": rules.min_topic_margin,
                    "topic_margin": round(margin, 6)},
        prediction_summary={
            "model_version": prediction.model_version,
            "topic": prediction.topic,
            "topic_confidence": round(prediction.topic_confidence, 6),
            "urgency": prediction.urgency,
            "urgency_confidence": round(prediction.urgency_confidence, 6),
            "top_topics": [[code, round(p, 6)] for code, p in top],
            "model_needs_review": prediction.needs_review,
            "alerts": list(prediction.alerts),
        },
    )
