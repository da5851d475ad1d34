"""Routing rules per municipality: the same prediction routes differently per tenant and per date, with
restricted visibility, after-hours alert instructions, referrals and a full trace."""

from datetime import UTC, datetime

import pytest

from pipeline.config import load_tenant
from pipeline.domain import Prediction
from pipeline.red_flags import load_red_flags
from pipeline.routing import route
from tests.conftest import CONFIG_DIR
from tests.pipeline.seeding import topic_probabilities

MONDAY_MORNING = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # 10:00 in Stockholm
SATURDAY_NIGHT = datetime(2026, 11, 7, 21, 30, tzinfo=UTC)  # 22:30 in Stockholm
AFTER_REORG = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def tenants(taxonomy):
    return {name: load_tenant(CONFIG_DIR, name, taxonomy) for name in ("solvik", "norrbacka")}


def _prediction(topic: str, urgency: str = "normal", confidence: float = 0.9, alerts=(), red_flags=()) -> Prediction:
    return Prediction(topic=topic, urgency=urgency, topic_probabilities=topic_probabilities(topic, confidence),
                      urgency_probabilities={urgency: 0.8}, model_version="test/7", alerts=list(alerts),
                      red_flags=list(red_flags))


@pytest.mark.parametrize(("tenant_name", "when", "queue", "department", "mapping"), [
    ("solvik", MONDAY_MORNING, "socialtjanst", "socialtjanst", "2026-01"),
    ("solvik", AFTER_REORG, "socialtjanst", "socialtjanst", "2026-01"),
    ("norrbacka", MONDAY_MORNING, "individ_familj", "socialtjanst", "norrbacka-2026"),
    ("norrbacka", AFTER_REORG, "arbete_forsorjning", "arbete_forsorjning", "norrbacka-2027"),
])
def test_same_prediction_routes_per_tenant_and_date(tenants, tenant_name, when, queue, department, mapping):
    decision = route(_prediction("ekonomiskt_bistand"), tenants[tenant_name], when)
    assert (decision.queue, decision.department, decision.mapping_version) == (queue, department, mapping)
    assert decision.restricted  # ekonomiskt bistånd is sensitive in both
    assert f"mapping:{mapping}" in decision.rule_hits


def test_reorganisation_moves_environment_to_the_joint_board(tenants):
    guess = _prediction("livsmedel_tillstand")
    assert route(guess, tenants["norrbacka"], MONDAY_MORNING).queue == "stadsbyggnad"
    assert route(guess, tenants["norrbacka"], AFTER_REORG).queue == "miljoforbund"
    assert route(guess, tenants["solvik"], AFTER_REORG).queue == "miljo"


def test_tenants_differ_in_priority_sla_and_review_floor(tenants):
    guess = _prediction("avfall", urgency="akut", confidence=0.35)
    solvik, norrbacka = (route(guess, tenants[name], MONDAY_MORNING) for name in ("solvik", "norrbacka"))
    assert (solvik.queue, solvik.sla_hours, solvik.needs_review) == ("vatten_avfall", 1, False)
    assert (norrbacka.queue, norrbacka.sla_hours, norrbacka.needs_review) == ("manuell_triage", 2, True)
    assert "review:min_topic_confidence" in norrbacka.rule_hits
    assert norrbacka.thresholds["min_topic_confidence"] == 0.40


def test_sensitive_topics_are_restricted_per_tenant(tenants):
    for topic in ("barn_unga_familj", "missbruk_vald", "ekonomiskt_bistand"):
        assert route(_prediction(topic), tenants["solvik"], MONDAY_MORNING).restricted
    assert not route(_prediction("fardtjanst"), tenants["solvik"], MONDAY_MORNING).restricted
    assert route(_prediction("fardtjanst"), tenants["norrbacka"], MONDAY_MORNING).restricted
    assert not route(_prediction("avfall"), tenants["norrbacka"], MONDAY_MORNING).restricted


def test_unsure_sensitive_case_goes_to_manual_triage_still_restricted(tenants):
    decision = route(_prediction("barn_unga_familj", confidence=0.2), tenants["solvik"], MONDAY_MORNING)
    assert decision.queue == "manuell_triage" and decision.restricted and decision.department == "kontaktcenter"


def test_alert_instruction_depends_on_office_hours(tenants):
    flag = "red flag sjalvmord: 'vill inte leva' -> akut (alert socialjour)"
    guess = _prediction("missbruk_vald", urgency="akut", alerts=["socialjour"], red_flags=[flag])
    day = route(guess, tenants["solvik"], MONDAY_MORNING)
    night = route(guess, tenants["solvik"], SATURDAY_NIGHT)
    assert not day.after_hours and night.after_hours
    assert "mottagning" in day.instructions[0] and "Socialjouren Solvik" in night.instructions[0]
    assert "red_flag:sjalvmord" in night.rule_hits and "alert:socialjour" in night.rule_hits
    assert flag in night.trace
    other = route(guess, tenants["norrbacka"], SATURDAY_NIGHT)
    assert "Norra länet" in other.instructions[0]


def test_holiday_counts_as_after_hours(tenants):
    christmas_eve_morning = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)
    decision = route(_prediction("vatten_avlopp", "akut", alerts=["va_jour"]), tenants["solvik"], christmas_eve_morning)
    assert decision.after_hours and "VA-jouren" in decision.instructions[0]


def test_every_red_flag_alert_has_instructions_in_every_tenant(tenants):
    alerts = {rule.alert for rule in load_red_flags(CONFIG_DIR).rules}
    for tenant in tenants.values():
        assert alerts <= set(tenant.alerts), f"{tenant.tenant} lacks {alerts - set(tenant.alerts)}"


@pytest.mark.parametrize(("text", "authority"), [
    ("Hur ansöker jag om föräldrapenning?", "Försäkringskassan"),
    ("Jag behöver ett personbevis", "Skatteverket"),
    ("Var förnyar jag mitt pass?", "Polisen"),
])
def test_referral_suggests_the_authority(tenants, text, authority):
    decision = route(_prediction("utanfor_kommun"), tenants["solvik"], MONDAY_MORNING, text)
    assert decision.queue == "hanvisning" and decision.referral.startswith(authority)
    assert any(hit.startswith("referral:") for hit in decision.rule_hits)


def test_referral_without_a_known_authority_uses_the_fallback(tenants):
    decision = route(_prediction("utanfor_kommun"), tenants["norrbacka"], MONDAY_MORNING, "Min kyl är trasig")
    assert decision.queue == "medborgarservice" and "Medborgarservice" in decision.referral
    assert "referral:fallback" in decision.rule_hits


def test_trace_keeps_prediction_thresholds_and_mapping(tenants):
    decision = route(_prediction("bygglov", confidence=0.8), tenants["norrbacka"], MONDAY_MORNING)
    summary = decision.prediction_summary
    assert summary["model_version"] == "test/7" and summary["topic"] == "bygglov"
    assert summary["top_topics"][0] == ["bygglov", 0.8]
    assert decision.thresholds["min_topic_margin"] == 0.10 and decision.thresholds["topic_margin"] == pytest.approx(0.6)
    stored = type(decision).model_validate(decision.model_dump(mode="json"))
    assert stored == decision
