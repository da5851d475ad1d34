"""Monitoring figures: drift measures behave as distances, and the report reads the cases it is given."""

import math

import numpy as np
import pytest

from pipeline.monitoring import CaseSnapshot, build_report, distribution, drift_level, js_divergence, psi

TOPICS = ["a", "b", "c", "d"]
URGENCIES = ["akut", "hog", "normal", "lag"]
REFERENCE_TOPICS = {"a": 40, "b": 30, "c": 20, "d": 10}
REFERENCE_URGENCIES = {"akut": 5, "hog": 15, "normal": 60, "lag": 20}


def _cases(topics: dict[str, int], urgency: str = "normal", confidence: float = 0.8, review_every: int = 0,
           rerouted_queue: str | None = None) -> list[CaseSnapshot]:
    cases = []
    for topic, count in topics.items():
        for n in range(count):
            cases.append(CaseSnapshot(topic=topic, urgency=urgency, topic_confidence=confidence,
                                      needs_review=bool(review_every) and n % review_every == 0,
                                      first_queue=f"q_{topic}", rerouted=rerouted_queue == f"q_{topic}" and n % 2 == 0))
    return cases


def test_distances_are_zero_for_equal_distributions_and_grow_with_the_shift():
    p = distribution(REFERENCE_TOPICS, TOPICS)
    assert psi(p, p) == pytest.approx(0) and js_divergence(p, p) == pytest.approx(0)
    slight = distribution({"a": 35, "b": 35, "c": 20, "d": 10}, TOPICS)
    strong = distribution({"a": 5, "b": 5, "c": 10, "d": 80}, TOPICS)
    assert 0 < psi(p, slight) < psi(p, strong)
    assert 0 < js_divergence(p, slight) < js_divergence(p, strong) <= 1
    assert drift_level(psi(p, slight)) == "stable" and drift_level(psi(p, strong)) == "major"


def test_unseen_category_gives_a_finite_psi():
    p = distribution({"a": 10}, TOPICS)
    q = distribution({"d": 10}, TOPICS)
    assert math.isfinite(psi(p, q)) and np.isclose(q.sum(), 1)


def test_report_on_the_training_mix_shows_no_drift():
    cases = _cases(REFERENCE_TOPICS, review_every=4)
    report = build_report(cases, REFERENCE_TOPICS, REFERENCE_URGENCIES, TOPICS, URGENCIES, "w")
    assert report.cases == 100
    assert report.topic_psi == pytest.approx(0, abs=1e-9)
    assert report.urgency_psi > 0.25  # every case is "normal", the training data is not
    assert report.manual_share == pytest.approx(sum(math.ceil(n / 4) for n in REFERENCE_TOPICS.values()) / 100)
    assert report.confidence_quantiles["p50"] == pytest.approx(0.8)
    assert dict(report.confidence_histogram)["0.8-1.0"] == 100
    assert report.reroutes == {}  # nobody rerouted: no reroute signal
    assert "No reroute data yet." in report.markdown()


def test_report_finds_the_topic_that_moved_and_reroute_rates_per_queue():
    cases = _cases({"a": 10, "b": 10, "c": 10, "d": 70}, rerouted_queue="q_d")
    report = build_report(cases, REFERENCE_TOPICS, REFERENCE_URGENCIES, TOPICS, URGENCIES, "w", review_queue="q_a")
    assert report.topic_shifts[0][0] == "d"
    assert drift_level(report.topic_psi) == "major"
    assert "q_a" not in report.reroutes  # the manual-triage queue sorts; its moves are not reroutes
    assert report.reroutes["q_d"] == (70, 35)
    metrics = report.metrics()
    assert metrics["reroute_rate_q_d"] == pytest.approx(0.5)
    assert metrics["reroute_rate"] == pytest.approx(35 / 90)
    text = report.markdown()
    assert "| q_d | 70 | 35 | 50.0% |" in text and "major" in text


def test_empty_window_reports_no_cases():
    report = build_report([], REFERENCE_TOPICS, REFERENCE_URGENCIES, TOPICS, URGENCIES, "w")
    assert report.cases == 0 and "No routed cases" in report.markdown()
    assert report.metrics()["monitor_cases"] == 0
