"""Champion/challenger gate: score both models on the same labelled sets and decide whether the challenger
may take over routing. The rule is deliberately simple, so a person can check every decision by hand:
topic macro-F1 on the frozen test split is not worse, akut recall there stays at or above its floor, and,
once there is enough recent handler feedback, topic macro-F1 on that feedback is not worse either."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from models.base import InquiryClassifier, InquiryText
from models.evaluate import evaluate
from pipeline.config import PromotionParams
from pipeline.corpus import CorpusItem

TEST_SET = "test"
FEEDBACK_SET = "feedback"


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str
    # One line per rule, each saying whether it passed and with which figures.
    checks: list[str] = field(default_factory=list)
    # Flat figures for tracking: <model>_<set>_<metric>, e.g. challenger_test_topic_macro_f1.
    metrics: dict[str, float] = field(default_factory=dict)


def score(classifier: InquiryClassifier, items: Sequence[CorpusItem]) -> dict[str, float]:
    """Topic macro-F1, akut recall (when the set has akut cases) and size of one labelled set."""
    predictions = classifier.predict([InquiryText(i.channel, i.subject, i.body) for i in items])
    return evaluate(predictions, [i.topic for i in items], [i.urgency for i in items])


def score_sets(classifier: InquiryClassifier, sets: dict[str, Sequence[CorpusItem]]) -> dict[str, dict[str, float]]:
    return {name: score(classifier, items) for name, items in sets.items() if items}


def decide(
    challenger: dict[str, dict[str, float]],
    champion: dict[str, dict[str, float]] | None,
    params: PromotionParams,
) -> PromotionDecision:
    """Whether the challenger replaces the champion, given both models' scores per set (see `score_sets`).
    With no champion at all, the challenger is promoted if it meets the akut floor on its own."""
    metrics = _flatten("challenger", challenger) | (_flatten("champion", champion) if champion else {})
    checks: list[str] = []
    failures: list[str] = []

    test = challenger.get(TEST_SET)
    if test is None:
        raise ValueError("the challenger has no score on the test split")
    akut_recall = test.get("akut_recall")
    if akut_recall is None:
        failures.append("akut recall cannot be measured: the test split has no akut case")
    elif akut_recall < params.min_akut_recall:
        failures.append(f"akut recall {akut_recall:.3f} < {params.min_akut_recall:.2f}")
    else:
        checks.append(f"pass: akut recall {akut_recall:.3f} >= {params.min_akut_recall:.2f}")

    if champion is not None:
        for set_name in (TEST_SET, FEEDBACK_SET):
            if set_name not in champion or set_name not in challenger:
                continue
            size = challenger[set_name].get("n", 0.0)
            if set_name == FEEDBACK_SET and size < params.min_feedback:
                checks.append(f"skipped: only {size:.0f} feedback cases (< {params.min_feedback})")
                continue
            new, old = challenger[set_name]["topic_macro_f1"], champion[set_name]["topic_macro_f1"]
            line = f"topic macro-F1 on {set_name} {new:.3f} vs champion {old:.3f}"
            if new < old - params.max_topic_f1_drop:
                failures.append(f"{line}: worse" + (f" by more than {params.max_topic_f1_drop:.3f}"
                                                    if params.max_topic_f1_drop else ""))
            else:
                checks.append(f"pass: {line}")

    checks += [f"fail: {failure}" for failure in failures]
    if failures:
        return PromotionDecision(False, "kept the champion: " + "; ".join(failures), checks, metrics)
    if champion is None:
        return PromotionDecision(True, "no champion yet; the challenger meets the akut floor", checks, metrics)
    passed = [c.removeprefix("pass: ") for c in checks if c.startswith("pass: ")]
    return PromotionDecision(True, "promoted: " + "; ".join(passed), checks, metrics)


def _flatten(prefix: str, scores: dict[str, dict[str, float]]) -> dict[str, float]:
    return {f"{prefix}_{set_name}_{metric}": value for set_name, figures in scores.items()
            for metric, value in figures.items()}
