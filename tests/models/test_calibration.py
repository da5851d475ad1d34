"""Calibration, thresholds and the decision policy on synthetic probabilities with a known truth."""

from __future__ import annotations

import math

import joblib
import numpy as np
import pytest
from scipy.special import softmax

from models.calibration import (
    NEVER_ROUTE,
    Calibrator,
    DecisionPolicy,
    IsotonicCalibrator,
    apply_akut_threshold,
    apply_temperature,
    choose_class_thresholds,
    choose_margin,
    choose_recall_threshold,
    coverage_at_thresholds,
    expected_calibration_error,
    fit_calibrator,
    fit_policy,
    fit_temperature,
    negative_log_likelihood,
    reliability_table,
)

TOPICS = ["avfall", "bygglov", "forskola", "gata_trafik", "skola", "vatten"]
URGENCIES = ["akut", "hog", "normal", "lag"]


def _calibrated_set(rng: np.random.Generator, n: int, k: int, scale: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """True logits z, labels drawn from softmax(z): softmax(z) is perfectly calibrated by construction."""
    z = rng.normal(scale=scale, size=(n, k))
    p = softmax(z, axis=1)
    y = np.array([rng.choice(k, p=row) for row in p])
    return z, y


@pytest.fixture(scope="module")
def overconfident():
    """Dev and test splits of a model that reports softmax(3 z) while the truth is softmax(z)."""
    rng = np.random.default_rng(7)
    z, y = _calibrated_set(rng, 4000, len(TOPICS))
    probs = softmax(3.0 * z, axis=1)
    return probs[:2000], y[:2000], probs[2000:], y[2000:]


@pytest.fixture(scope="module")
def dev_heads():
    """Synthetic dev probabilities for both heads, with an over-confident topic head and ~10 % akut."""
    rng = np.random.default_rng(11)
    z, ty = _calibrated_set(rng, 1500, len(TOPICS), scale=2.5)
    uz = rng.normal(size=(1500, len(URGENCIES))) + np.array([-1.5, 0.0, 1.0, 0.0])
    up = softmax(uz, axis=1)
    uy = np.array([rng.choice(len(URGENCIES), p=row) for row in up])
    return softmax(2.0 * z, axis=1), ty, softmax(1.5 * uz, axis=1), uy


def test_temperature_lowers_nll_and_ece_of_an_overconfident_model(overconfident):
    dev_p, dev_y, test_p, test_y = overconfident
    t = fit_temperature(dev_p, dev_y)
    assert 2.0 < t < 4.5  # the truth is T = 3
    calibrated = apply_temperature(test_p, t)
    assert np.allclose(calibrated.sum(axis=1), 1.0)
    assert np.array_equal(calibrated.argmax(axis=1), test_p.argmax(axis=1))
    assert negative_log_likelihood(calibrated, test_y) < negative_log_likelihood(test_p, test_y) - 0.1
    assert expected_calibration_error(calibrated, test_y) < 0.5 * expected_calibration_error(test_p, test_y)


def test_temperature_accepts_logits_and_probabilities_alike(overconfident):
    dev_p, dev_y, _, _ = overconfident
    logits = np.log(np.clip(dev_p, 1e-12, 1.0)) + 5.0  # same floor as the module; a shift does not change softmax
    assert fit_temperature(logits, dev_y) == pytest.approx(fit_temperature(dev_p, dev_y), rel=1e-3)
    assert np.allclose(apply_temperature(logits, 2.0), apply_temperature(dev_p, 2.0))
    with pytest.raises(ValueError):
        apply_temperature(dev_p, 0.0)


def test_isotonic_calibrator_lowers_ece_and_gives_distributions(overconfident):
    dev_p, dev_y, test_p, test_y = overconfident
    calibrator = fit_calibrator(dev_p, dev_y, "isotonic")
    assert isinstance(calibrator.isotonic, IsotonicCalibrator)
    calibrated = calibrator.transform(test_p)
    assert np.allclose(calibrated.sum(axis=1), 1.0)
    assert expected_calibration_error(calibrated, test_y) < 0.5 * expected_calibration_error(test_p, test_y)


def test_no_calibration_is_the_identity():
    p = np.array([[0.2, 0.8], [0.6, 0.4]])
    assert np.allclose(Calibrator("none").transform(p), p)
    assert np.allclose(fit_calibrator(p, np.array([1, 0]), "none").transform(p), p)


def test_ece_of_a_calibrated_set_is_small():
    rng = np.random.default_rng(3)
    z, y = _calibrated_set(rng, 5000, 5)
    assert expected_calibration_error(softmax(z, axis=1), y) < 0.03


def test_reliability_table_counts_every_item_once(overconfident):
    dev_p, dev_y, _, _ = overconfident
    table = reliability_table(dev_p, dev_y, n_bins=10)
    assert sum(b.count for b in table) == len(dev_y)
    assert all(b.lower < b.confidence <= b.upper for b in table)
    assert all(0.0 <= b.accuracy <= 1.0 for b in table)


def test_class_thresholds_reach_the_target_precision(overconfident):
    dev_p, dev_y, _, _ = overconfident
    target = 0.9
    thresholds = choose_class_thresholds(dev_p, dev_y, TOPICS, target_precision=target)
    assert set(thresholds) == set(TOPICS)
    pred, conf = dev_p.argmax(axis=1), dev_p.max(axis=1)
    for k, label in enumerate(TOPICS):
        routed = (pred == k) & (conf >= thresholds[label])
        if thresholds[label] <= 1.0:
            assert (dev_y[routed] == k).mean() >= target
    coverage, precision = coverage_at_thresholds(dev_p, dev_y, TOPICS, thresholds)
    assert 0.0 < coverage < 1.0
    assert precision >= target


def test_class_thresholds_accept_label_strings(overconfident):
    dev_p, dev_y, _, _ = overconfident
    as_strings = np.array(TOPICS)[dev_y]
    assert choose_class_thresholds(dev_p, as_strings, TOPICS) == choose_class_thresholds(dev_p, dev_y, TOPICS)


def test_coverage_is_monotone_in_target_precision(overconfident):
    dev_p, dev_y, _, _ = overconfident
    coverages = []
    for target in (0.6, 0.7, 0.8, 0.9, 0.95, 0.99):
        thresholds = choose_class_thresholds(dev_p, dev_y, TOPICS, target_precision=target)
        coverages.append(coverage_at_thresholds(dev_p, dev_y, TOPICS, thresholds)[0])
    assert all(a >= b for a, b in zip(coverages, coverages[1:], strict=False))
    assert coverages[0] > coverages[-1]


def test_unreachable_target_never_routes_and_rare_classes_fall_back():
    # Class a: always wrong; class b: always right; class c: predicted twice only (and right).
    probs = np.array([[0.5, 0.3, 0.2]] * 10 + [[0.1, 0.8, 0.1]] * 10 + [[0.1, 0.1, 0.8]] * 2)
    y = np.array([1] * 10 + [1] * 10 + [2] * 2)
    labels = ["a", "b", "c"]
    thresholds = choose_class_thresholds(probs, y, labels, target_precision=0.9, min_support=5)
    assert thresholds["a"] == NEVER_ROUTE
    assert thresholds["b"] == pytest.approx(0.8)
    assert thresholds["c"] == pytest.approx(0.8)  # pooled: the 12 items at 0.8 are right, the 10 at 0.5 wrong
    assert choose_class_thresholds(probs, y, labels, min_support=5, fallback=0.5)["c"] == 0.5
    coverage, precision = coverage_at_thresholds(probs, y, labels, dict.fromkeys(labels, NEVER_ROUTE))
    assert coverage == 0.0 and math.isnan(precision)


def test_choose_margin_picks_the_smallest_margin_that_reaches_the_target():
    # Near-ties between a and b are right only half the time; clear predictions are always right.
    clear = [[0.7, 0.2, 0.1]] * 20
    ties = [[0.46, 0.44, 0.10]] * 10
    probs = np.array(clear + ties)
    y = np.array([0] * 20 + [0, 1] * 5)
    labels = ["a", "b", "c"]
    thresholds = {"a": 0.4, "b": 0.4, "c": 0.4}
    assert coverage_at_thresholds(probs, y, labels, thresholds)[1] < 0.9
    margin = choose_margin(probs, y, labels, thresholds, target_precision=0.9)
    assert margin == pytest.approx(0.05)
    assert coverage_at_thresholds(probs, y, labels, thresholds, margin) == (pytest.approx(20 / 30), 1.0)


def test_recall_threshold_meets_the_target_and_is_the_largest():
    rng = np.random.default_rng(5)
    positive = rng.random(2000) < 0.1
    scores = np.clip(rng.normal(0.2 + 0.4 * positive, 0.15), 0.0, 1.0)
    for target in (0.8, 0.9, 0.95, 0.99, 1.0):
        t = choose_recall_threshold(scores, positive, target)
        assert (scores[positive] >= t).mean() >= target
        assert (scores[positive] >= np.nextafter(t, 2.0)).mean() < target
    with pytest.raises(ValueError):
        choose_recall_threshold(scores, np.zeros_like(positive))


def test_apply_akut_threshold_overrides_the_argmax_both_ways():
    probs = np.array([[0.30, 0.10, 0.50, 0.10],   # akut above threshold though not most likely -> akut
                      [0.60, 0.30, 0.05, 0.05],   # akut most likely but below threshold -> best other (hog)
                      [0.05, 0.05, 0.20, 0.70]])  # plain -> lag
    assert apply_akut_threshold(probs, URGENCIES, 0.25).tolist() == [0, 0, 3]
    assert apply_akut_threshold(probs, URGENCIES, 0.65).tolist() == [2, 1, 3]


def _hand_policy(min_margin: float = 0.1) -> DecisionPolicy:
    labels = ("avfall", "gata_trafik", "skola")
    return DecisionPolicy(topic_labels=labels, urgency_labels=tuple(URGENCIES), topic_calibrator=Calibrator("none"),
                          urgency_calibrator=Calibrator("none"),
                          topic_thresholds={"avfall": 0.6, "gata_trafik": 0.4, "skola": NEVER_ROUTE},
                          min_margin=min_margin, akut_threshold=0.2)


def test_decide_flags_low_confidence_and_small_margins_with_reasons():
    topic = np.array([[0.90, 0.05, 0.05],    # confident: auto-routed
                      [0.50, 0.30, 0.20],    # below the avfall threshold 0.6
                      [0.10, 0.48, 0.42],    # above the gata_trafik threshold but only 0.06 ahead of skola
                      [0.05, 0.05, 0.90]])   # skola is never auto-routed
    urgency = np.array([[0.25, 0.05, 0.60, 0.10]] + [[0.05, 0.05, 0.80, 0.10]] * 3)
    confident, low, close, never = _hand_policy().decide(topic, urgency)

    assert not confident.needs_review and confident.review_reasons == ()
    assert confident.topic == "avfall" and confident.topic_confidence == pytest.approx(0.9)
    assert confident.urgency == "akut" and confident.urgency_by_threshold

    assert low.needs_review
    assert low.review_reasons == ("topic confidence 0.50 < threshold 0.60 for avfall",)
    assert low.urgency == "normal" and not low.urgency_by_threshold

    assert close.needs_review and close.topic == "gata_trafik" and close.second_topic == "skola"
    assert close.topic_margin == pytest.approx(0.06)
    assert close.review_reasons == ("margin 0.06 to second topic skola < 0.10",)

    assert never.needs_review and "never auto-routed" in never.review_reasons[0]
    assert sum(never.topic_probabilities.values()) == pytest.approx(1.0)
    assert set(never.urgency_probabilities) == set(URGENCIES)


def test_decide_sends_unfamiliar_text_and_member_disagreement_to_a_person():
    from dataclasses import replace

    topic = np.array([[0.90, 0.05, 0.05]] * 3)
    urgency = np.array([[0.05, 0.05, 0.80, 0.10]] * 3)
    policy = replace(_hand_policy(), min_familiarity=0.2, review_on_member_disagreement=True)
    familiarity = np.array([0.5, 0.1, 0.5])
    member_topics = np.array([[0, 0, 0], [0, 0, 1]])  # two members; they disagree on the third text only
    familiar, unfamiliar, disputed = policy.decide(topic, urgency, familiarity=familiarity, member_topics=member_topics)

    assert not familiar.needs_review
    assert unfamiliar.needs_review
    assert unfamiliar.review_reasons == ("texten liknar inget i träningsdata (likhet 0.10 < 0.20)",)
    assert disputed.needs_review
    assert disputed.review_reasons == ("modellerna är oeniga om ämnet (avfall / gata_trafik)",)
    # Guards switched off: the same inputs are routed on confidence alone.
    assert not any(d.needs_review for d in _hand_policy().decide(topic, urgency, familiarity=familiarity,
                                                                 member_topics=member_topics))


def test_text_in_a_language_the_policy_was_not_calibrated_on_waits_for_a_person_at_hog_or_above():
    from dataclasses import replace

    topic = np.array([[0.90, 0.05, 0.05]] * 4)
    urgency = np.array([[0.01, 0.01, 0.08, 0.90]] * 3 + [[0.90, 0.04, 0.04, 0.02]])  # three 'lag', one 'akut'
    policy = replace(_hand_policy(), served_languages=("sv", "en"))
    swedish, arabic, undetermined, arabic_akut = policy.decide(topic, urgency, languages=["sv", "ar", "und", "ar"])

    assert not swedish.needs_review and swedish.urgency == "lag"
    assert arabic.needs_review and arabic.urgency == "hog"
    assert arabic.review_reasons == ("texten är på arabiska, som modellen inte är kalibrerad för",)
    assert undetermined.needs_review and undetermined.urgency == "hog"
    assert arabic_akut.urgency == "akut"  # raised, never lowered
    # Without the guard (a policy from before it existed), the language changes nothing.
    unguarded = _hand_policy().decide(topic, urgency, languages=["sv", "ar", "und", "ar"])
    assert [d.urgency for d in unguarded] == ["lag", "lag", "lag", "akut"] and not unguarded[1].needs_review


def test_decide_rejects_matrices_of_the_wrong_width():
    with pytest.raises(ValueError):
        _hand_policy().decide(np.full((1, 4), 0.25), np.full((1, 4), 0.25))


@pytest.mark.parametrize("method", ["temperature", "isotonic", "none"])
def test_fit_policy_reports_both_heads(dev_heads, method):
    topic_p, topic_y, urgency_p, urgency_y = dev_heads
    policy, report = fit_policy(topic_p, topic_y, urgency_p, urgency_y, TOPICS, URGENCIES, method=method)
    assert policy.topic_calibrator.method == method
    for key in ("topic_ece_raw", "topic_ece_calibrated", "urgency_ece_raw", "urgency_ece_calibrated",
                "topic_coverage", "topic_auto_precision", "topic_min_margin", "akut_threshold", "akut_recall",
                "akut_precision"):
        assert key in report and math.isfinite(report[key])
    assert report["topic_auto_precision"] >= 0.9
    assert report["akut_recall"] >= 0.95
    if method != "none":
        assert report["topic_ece_calibrated"] < report["topic_ece_raw"]
    decisions = policy.decide(topic_p[:50], urgency_p[:50])
    assert len(decisions) == 50
    routed = sum(not d.needs_review for d in decisions)
    assert 0 < routed < 50
    assert all(d.review_reasons for d in decisions if d.needs_review)


def test_fit_policy_accepts_label_strings(dev_heads):
    topic_p, topic_y, urgency_p, urgency_y = dev_heads
    _, by_index = fit_policy(topic_p, topic_y, urgency_p, urgency_y, TOPICS, URGENCIES)
    _, by_label = fit_policy(topic_p, np.array(TOPICS)[topic_y], urgency_p, [URGENCIES[i] for i in urgency_y],
                             TOPICS, URGENCIES)
    assert by_label == pytest.approx(by_index)


def test_fit_policy_without_akut_on_dev_falls_back_to_argmax(dev_heads):
    topic_p, topic_y, urgency_p, urgency_y = dev_heads
    keep = urgency_y != 0
    policy, report = fit_policy(topic_p[keep], topic_y[keep], urgency_p[keep], urgency_y[keep], TOPICS, URGENCIES)
    assert policy.akut_threshold is None and "akut_threshold" not in report
    decisions = policy.decide(topic_p[:20], urgency_p[:20])
    assert [d.urgency for d in decisions] == [URGENCIES[i] for i in policy.urgency_calibrator.transform(
        urgency_p[:20]).argmax(axis=1)]


@pytest.mark.parametrize("method", ["temperature", "isotonic"])
def test_policy_survives_a_joblib_round_trip(dev_heads, tmp_path, method):
    topic_p, topic_y, urgency_p, urgency_y = dev_heads
    policy, _ = fit_policy(topic_p, topic_y, urgency_p, urgency_y, TOPICS, URGENCIES, method=method)
    path = tmp_path / "policy.joblib"
    joblib.dump(policy, path)
    loaded = joblib.load(path)
    assert loaded.topic_thresholds == policy.topic_thresholds
    assert loaded.akut_threshold == policy.akut_threshold and loaded.min_margin == policy.min_margin
    assert loaded.decide(topic_p[:100], urgency_p[:100]) == policy.decide(topic_p[:100], urgency_p[:100])


def test_recall_at_precision_takes_the_best_threshold_that_keeps_the_precision():
    from models.calibration import recall_at_precision

    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    positive = np.array([True, True, False, True, False, False])
    assert recall_at_precision(scores, positive, 0.99) == pytest.approx(2 / 3)  # top two only
    assert recall_at_precision(scores, positive, 0.75) == pytest.approx(1.0)  # top four: 3 of 4
    assert recall_at_precision(scores, np.ones(6, dtype=bool), 1.0) == pytest.approx(1.0)
