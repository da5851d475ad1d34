"""The champion/challenger gate: the rule on figures, and scoring real classifiers on the same set."""

import pytest

from models.base import InquiryClassifier
from models.promotion import FEEDBACK_SET, TEST_SET, decide, score_sets
from pipeline.config import PromotionParams
from pipeline.corpus import load_split
from tests.conftest import CORPUS_DIR

RULES = PromotionParams(max_topic_f1_drop=0.0, min_akut_recall=0.95, min_feedback=20)


def _scores(test_f1: float, akut: float | None, feedback_f1: float | None = None, feedback_n: int = 50) -> dict:
    test = {"topic_macro_f1": test_f1, "n": 500.0}
    if akut is not None:
        test["akut_recall"] = akut
    scores = {TEST_SET: test}
    if feedback_f1 is not None:
        scores[FEEDBACK_SET] = {"topic_macro_f1": feedback_f1, "n": float(feedback_n)}
    return scores


def test_not_worse_and_akut_floor_met_promotes():
    decision = decide(_scores(0.70, 0.96), _scores(0.70, 0.99), RULES)
    assert decision.promote
    assert "0.700 vs champion 0.700" in decision.reason
    assert decision.metrics["challenger_test_topic_macro_f1"] == 0.70
    assert decision.metrics["champion_test_akut_recall"] == 0.99


def test_worse_topic_f1_is_rejected_with_the_figures():
    decision = decide(_scores(0.69, 0.99), _scores(0.70, 0.99), RULES)
    assert not decision.promote
    assert "0.690 vs champion 0.700: worse" in decision.reason


def test_akut_recall_below_floor_is_rejected_even_when_topics_improve():
    decision = decide(_scores(0.90, 0.94), _scores(0.70, 0.99), RULES)
    assert not decision.promote
    assert "akut recall 0.940 < 0.95" in decision.reason


def test_no_akut_case_cannot_pass_the_floor():
    assert not decide(_scores(0.9, None), _scores(0.7, 0.99), RULES).promote


def test_feedback_counts_only_when_there_is_enough():
    worse_on_feedback = decide(_scores(0.71, 0.96, 0.50), _scores(0.70, 0.96, 0.60), RULES)
    assert not worse_on_feedback.promote and "feedback" in worse_on_feedback.reason
    too_little = decide(_scores(0.71, 0.96, 0.50, feedback_n=5), _scores(0.70, 0.96, 0.60, feedback_n=5), RULES)
    assert too_little.promote
    assert any(check.startswith("skipped: only 5 feedback") for check in too_little.checks)


def test_tolerance_allows_a_small_drop():
    rules = RULES.model_copy(update={"max_topic_f1_drop": 0.02})
    assert decide(_scores(0.69, 0.96), _scores(0.70, 0.96), rules).promote
    assert not decide(_scores(0.67, 0.96), _scores(0.70, 0.96), rules).promote


def test_first_model_needs_only_the_akut_floor():
    assert decide(_scores(0.3, 0.95), None, RULES).promote
    assert not decide(_scores(0.9, 0.5), None, RULES).promote


def test_missing_test_scores_is_an_error():
    with pytest.raises(ValueError, match="test split"):
        decide({}, None, RULES)


def test_scores_of_the_same_model_are_equal_and_a_worse_model_loses(tiny_classifier):
    test = load_split(CORPUS_DIR, "test")[:200]
    ours = score_sets(tiny_classifier, {TEST_SET: test})
    assert ours == score_sets(tiny_classifier, {TEST_SET: test})
    # The same model without its decision policy and red flags: plain argmax, typically far lower akut recall.
    bare = InquiryClassifier(tiny_classifier.model, version="bare")
    theirs = score_sets(bare, {TEST_SET: test})
    decision = decide(theirs, ours, RULES.model_copy(update={"min_akut_recall": ours[TEST_SET]["akut_recall"]}))
    assert decision.promote == (theirs[TEST_SET]["akut_recall"] >= ours[TEST_SET]["akut_recall"]
                                and theirs[TEST_SET]["topic_macro_f1"] >= ours[TEST_SET]["topic_macro_f1"])
