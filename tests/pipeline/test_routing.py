"""Routing: mapping, urgency to priority/SLA, and manual triage when the model is unsure."""

from datetime import UTC, datetime

from pipeline.domain import Prediction
from pipeline.routing import route

WHEN = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _prediction(topic_probabilities: dict[str, float], urgency: str = "normal") -> Prediction:
    topic = max(topic_probabilities, key=topic_probabilities.get)
    return Prediction(topic=topic, urgency=urgency, topic_probabilities=topic_probabilities,
                      urgency_probabilities={urgency: 0.9}, model_version="test/1")


def test_confident_prediction_goes_to_the_topic_queue(tenant):
    decision = route(_prediction({"avfall": 0.9, "vatten_avlopp": 0.1}, urgency="hog"), tenant, WHEN)
    assert decision.queue == "vatten_avfall"
    assert (decision.priority, decision.sla_hours, decision.needs_review) == (2, 24, False)
    assert decision.mapping_version == "2026-01"
    assert any("avfall" in line for line in decision.trace)


def test_low_confidence_goes_to_manual_triage(tenant):
    decision = route(_prediction({"avfall": 0.2, "vatten_avlopp": 0.1, "bygglov": 0.1}), tenant, WHEN)
    assert decision.queue == "manuell_triage" and decision.needs_review
    assert any("confidence" in line for line in decision.trace)


def test_two_close_topics_go_to_manual_triage(tenant):
    decision = route(_prediction({"avfall": 0.5, "vatten_avlopp": 0.48}), tenant, WHEN)
    assert decision.queue == "manuell_triage"
    assert any("margin" in line for line in decision.trace)


def test_akut_keeps_its_priority_in_manual_triage(tenant):
    decision = route(_prediction({"barn_unga_familj": 0.3, "grundskola_fritids": 0.28}, "akut"), tenant, WHEN)
    assert decision.queue == "manuell_triage" and decision.priority == 1


def test_utanfor_kommun_goes_to_referral(tenant):
    assert route(_prediction({"utanfor_kommun": 0.95}), tenant, WHEN).queue == "hanvisning"
