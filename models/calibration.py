"""Calibration and the decision policy on top of any classifier that outputs class probabilities.

Every model kind (TF-IDF + logistic regression, fine-tuned transformer, ...) gives a probability matrix per
head. This module turns those raw probabilities into decisions a municipality can act on:

* calibration per head (temperature scaling on log-probabilities, or per-class isotonic regression), so that
  a confidence of 0.8 means "right about 80 % of the time" on held-out data;
* calibration diagnostics: top-label expected calibration error and a reliability table for a plot;
* per-topic confidence thresholds for a target precision of auto-routed inquiries, plus a top1-top2 margin
  rule for ambiguous ones; everything below goes to a human ("needs review");
* an urgency safety threshold: flag `akut` whenever p(akut) reaches a threshold chosen for a target recall,
  even when another urgency level is more likely, because a missed emergency costs far more than a false alarm.

All functions are pure numpy/scipy/scikit-learn and all state lives in small frozen dataclasses defined at module
level, so a fitted `DecisionPolicy` pickles with joblib and can be bundled with a registered model. Labels (`y`)
are integer class indices into the label list unless a function takes `labels`, in which case label strings are
accepted too.

Thresholds and calibrators are fitted on the dev split; their dev metrics are optimistic, so report the same
numbers on the test split with `policy_report`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from pipeline.config import at_least
from pipeline.language import language_name

CalibrationMethod = Literal["temperature", "isotonic", "none"]

# Probabilities are clipped before the log so that a hard 0 from a model does not become -inf.
PROB_FLOOR = 1e-12
# A threshold above any possible probability: the class is never auto-routed.
NEVER_ROUTE = 1.0 + 1e-9
# Search range of log T: T in [~0.05, ~20] covers any realistic over- or under-confidence.
LOG_T_BOUNDS = (-3.0, 3.0)
# Candidate margins for `choose_margin`, smallest first.
DEFAULT_MARGIN_GRID: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
# Tolerance for comparing a dev precision or recall to its target (9/10 must count as reaching 0.90).
_EPS = 1e-12


# --------------------------------------------------------------------------------------------- helpers


def _as_2d(x: np.ndarray) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(f"expected a 2-D (n_items, n_classes) array, got shape {arr.shape}")
    return arr


def _looks_like_probs(x: np.ndarray) -> bool:
    """Rows in [0, 1] summing to 1. Log-probabilities (all <= 0) and raw logits fail this check."""
    return bool(x.size and x.min() >= 0.0 and x.max() <= 1.0 and np.allclose(x.sum(axis=1), 1.0, atol=1e-4))


def _to_logits(probs_or_logits: np.ndarray) -> np.ndarray:
    """Log-probabilities when given probabilities, otherwise the input: softmax(log p / T) works for any model."""
    x = _as_2d(probs_or_logits)
    return np.log(np.clip(x, PROB_FLOOR, 1.0)) if _looks_like_probs(x) else x


def _normalise(probs: np.ndarray) -> np.ndarray:
    p = np.clip(_as_2d(probs), 0.0, None)
    s = p.sum(axis=1, keepdims=True)
    # An all-zero row carries no information: spread it uniformly rather than divide by zero.
    return np.where(s > 0, p / np.where(s > 0, s, 1.0), 1.0 / p.shape[1])


def _encode(y: np.ndarray | Sequence, labels: Sequence[str] | None = None) -> np.ndarray:
    """Integer class indices; label strings are mapped through `labels`."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D label array, got shape {arr.shape}")
    if arr.size == 0 or np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    if labels is None:
        raise ValueError("label strings need the label list to be encoded")
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({str(v) for v in arr if v not in index})
    if unknown:
        raise ValueError(f"labels not in the label list: {unknown}")
    return np.array([index[v] for v in arr], dtype=np.int64)


def _check_y(probs: np.ndarray, y: np.ndarray) -> None:
    if len(probs) != len(y):
        raise ValueError(f"{len(probs)} probability rows but {len(y)} labels")
    if y.size and (y.min() < 0 or y.max() >= probs.shape[1]):
        raise ValueError(f"label indices must lie in [0, {probs.shape[1]})")


def _top2(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: argmax, top-1 probability, runner-up index and top1 - top2 margin (margin = top-1 for one class)."""
    order = np.argsort(-probs, axis=1, kind="stable")
    rows = np.arange(len(probs))
    pred = order[:, 0]
    conf = probs[rows, pred]
    if probs.shape[1] == 1:
        return pred, conf, np.full(len(probs), -1), conf.copy()
    second = order[:, 1]
    return pred, conf, second, conf - probs[rows, second]


def negative_log_likelihood(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of the true classes (probabilities clipped at PROB_FLOOR)."""
    p = _as_2d(probs)
    y = _encode(y)
    _check_y(p, y)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], PROB_FLOOR, 1.0))))


# ---------------------------------------------------------------------------------- temperature scaling


def apply_temperature(probs_or_logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T), where probabilities are first turned into log-probabilities. T > 1 softens."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    return softmax(_to_logits(probs_or_logits) / temperature, axis=1)


def fit_temperature(logits_or_log_probs: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising dev NLL; probabilities are accepted too (their logs are used).

    One scalar per head keeps the argmax, hence accuracy, unchanged and cannot overfit a small dev set. The search
    is over log T (bounded), which makes the problem well scaled for both over- and under-confident models."""
    logits = _to_logits(logits_or_log_probs)
    y = _encode(y)
    _check_y(logits, y)
    if y.size == 0:
        return 1.0
    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        return float(-np.mean(log_softmax(logits / math.exp(log_t), axis=1)[rows, y]))

    result = minimize_scalar(nll, bounds=LOG_T_BOUNDS, method="bounded", options={"xatol": 1e-4})
    return float(math.exp(result.x))


# ----------------------------------------------------------------------------------- isotonic regression


@dataclass(frozen=True, eq=False)
class IsotonicCalibrator:
    """One-vs-rest isotonic regression per class, then renormalised rows.

    Only the fitted step functions (knots) are kept, applied with np.interp, so the pickled object does not
    depend on scikit-learn internals. More flexible than a temperature but needs a larger dev set, and may change
    the argmax."""

    x_knots: tuple[np.ndarray, ...]
    y_knots: tuple[np.ndarray, ...]

    @classmethod
    def fit(cls, probs: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        # Imported here: scikit-learn is only needed to fit, and importing it takes seconds a served policy can skip.
        from sklearn.isotonic import IsotonicRegression

        p = _normalise(probs)
        y = _encode(y)
        _check_y(p, y)
        xs, ys = [], []
        for k in range(p.shape[1]):
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
            iso.fit(p[:, k], (y == k).astype(np.float64))
            xs.append(np.asarray(iso.X_thresholds_, dtype=np.float64))
            ys.append(np.asarray(iso.y_thresholds_, dtype=np.float64))
        return cls(tuple(xs), tuple(ys))

    def transform(self, probs: np.ndarray) -> np.ndarray:
        p = _normalise(probs)
        if p.shape[1] != len(self.x_knots):
            raise ValueError(f"calibrator fitted for {len(self.x_knots)} classes, got {p.shape[1]}")
        cal = np.column_stack([np.interp(p[:, k], xk, yk) for k, (xk, yk) in enumerate(zip(self.x_knots, self.y_knots,
                                                                                               strict=True))])
        s = cal.sum(axis=1, keepdims=True)
        # A row that every class calibrates to zero keeps its raw probabilities rather than becoming uniform noise.
        return np.where(s > 0, cal / np.where(s > 0, s, 1.0), p)


# ------------------------------------------------------------------------------------------- calibrator


@dataclass(frozen=True, eq=False)
class Calibrator:
    """A fitted calibration of one head: `transform` maps raw probabilities to calibrated ones."""

    method: CalibrationMethod = "none"
    temperature: float = 1.0
    isotonic: IsotonicCalibrator | None = None

    def transform(self, probs: np.ndarray) -> np.ndarray:
        if self.method == "temperature":
            return apply_temperature(probs, self.temperature)
        if self.method == "isotonic":
            if self.isotonic is None:
                raise ValueError("isotonic calibrator without fitted knots")
            return self.isotonic.transform(probs)
        if self.method == "none":
            return _normalise(probs)
        raise ValueError(f"unknown calibration method {self.method!r}")


def fit_calibrator(probs: np.ndarray, y: np.ndarray, method: CalibrationMethod = "temperature") -> Calibrator:
    """Fit a calibrator of the given method on dev probabilities and integer labels."""
    if method == "temperature":
        return Calibrator("temperature", temperature=fit_temperature(probs, y))
    if method == "isotonic":
        return Calibrator("isotonic", isotonic=IsotonicCalibrator.fit(probs, y))
    if method == "none":
        return Calibrator("none")
    raise ValueError(f"unknown calibration method {method!r}")


# ------------------------------------------------------------------------------------ calibration error


@dataclass(frozen=True)
class ReliabilityBin:
    """One confidence bin of a reliability diagram: (lower, upper] with mean confidence and accuracy."""

    lower: float
    upper: float
    confidence: float
    accuracy: float
    count: int


def reliability_table(probs: np.ndarray, y: np.ndarray, n_bins: int = 15) -> list[ReliabilityBin]:
    """Top-label reliability per equal-width bin (lower, upper]; the first bin also holds 0. Empty bins are left out."""
    p = _as_2d(probs)
    y = _encode(y)
    _check_y(p, y)
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    pred, conf, _, _ = _top2(p)
    correct = pred == y
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # searchsorted on the inner edges puts a confidence equal to an edge in the bin it closes.
    bins = np.searchsorted(edges[1:-1], conf, side="left")
    table = []
    for b in range(n_bins):
        mask = bins == b
        n = int(mask.sum())
        if n:
            table.append(ReliabilityBin(float(edges[b]), float(edges[b + 1]), float(conf[mask].mean()),
                                        float(correct[mask].mean()), n))
    return table


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, n_bins: int = 15) -> float:
    """Top-label ECE: the count-weighted mean |accuracy - confidence| over equal-width confidence bins."""
    y = _encode(y)
    if y.size == 0:
        return 0.0
    table = reliability_table(probs, y, n_bins)
    return float(sum(b.count * abs(b.accuracy - b.confidence) for b in table) / len(y))


# ------------------------------------------------------------------------------ thresholds for precision


def _min_threshold_for_precision(conf: np.ndarray, correct: np.ndarray, target: float) -> float | None:
    """The smallest t with precision({conf >= t}) >= target, or None if no t reaches it.

    Scan confidences from high to low keeping a running precision, evaluated only at the end of each group of
    tied confidences (a threshold cannot split ties). The lowest feasible point maximises coverage."""
    if conf.size == 0:
        return None
    order = np.argsort(-conf, kind="stable")
    c, ok = conf[order], correct[order].astype(np.float64)
    precision = np.cumsum(ok) / np.arange(1, len(c) + 1)
    group_end = np.r_[c[1:] != c[:-1], True]
    feasible = np.flatnonzero(group_end & (precision >= target - _EPS))
    return float(c[feasible[-1]]) if feasible.size else None


def choose_class_thresholds(probs: np.ndarray, y: np.ndarray, labels: Sequence[str], target_precision: float = 0.90,
                            min_support: int = 5, fallback: float | None = None) -> dict[str, float]:
    """Per-class confidence thresholds for auto-routing at `target_precision` on the fitting data.

    For class k, among items predicted k (argmax), the smallest threshold whose routed subset reaches the target
    precision. A class that never reaches it gets NEVER_ROUTE (> 1: always reviewed). A class with fewer than
    `min_support` predictions gets `fallback`, or when that is None a global threshold found the same way over all
    items pooled (NEVER_ROUTE if even that fails). Raising the target never lowers a threshold, so coverage is
    monotone in the target."""
    p = _as_2d(probs)
    if p.shape[1] != len(labels):
        raise ValueError(f"{p.shape[1]} probability columns but {len(labels)} labels")
    y = _encode(y, labels)
    _check_y(p, y)
    pred, conf, _, _ = _top2(p)
    correct = pred == y
    if fallback is None:
        pooled = _min_threshold_for_precision(conf, correct, target_precision)
        fallback = NEVER_ROUTE if pooled is None else pooled
    thresholds: dict[str, float] = {}
    for k, label in enumerate(labels):
        mask = pred == k
        if mask.sum() < min_support:
            thresholds[label] = float(fallback)
            continue
        t = _min_threshold_for_precision(conf[mask], correct[mask], target_precision)
        thresholds[label] = NEVER_ROUTE if t is None else t
    return thresholds


def _auto_route_mask(probs: np.ndarray, labels: Sequence[str], thresholds: Mapping[str, float],
                     min_margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(predicted index, auto-routed?) per row: conf >= threshold[pred] and top1 - top2 >= min_margin."""
    missing = [label for label in labels if label not in thresholds]
    if missing:
        raise ValueError(f"no threshold for labels {missing}")
    pred, conf, _, margin = _top2(probs)
    per_class = np.array([thresholds[label] for label in labels], dtype=np.float64)
    return pred, (conf >= per_class[pred]) & (margin >= min_margin - _EPS)


def coverage_at_thresholds(probs: np.ndarray, y: np.ndarray, labels: Sequence[str], thresholds: Mapping[str, float],
                           min_margin: float = 0.0) -> tuple[float, float]:
    """(share of items auto-routed, precision among them); precision is NaN when nothing is auto-routed."""
    p = _as_2d(probs)
    y = _encode(y, labels)
    _check_y(p, y)
    pred, auto = _auto_route_mask(p, labels, thresholds, min_margin)
    if not auto.any():
        return 0.0, float("nan")
    return float(auto.mean()), float((pred[auto] == y[auto]).mean())


def choose_margin(probs: np.ndarray, y: np.ndarray, labels: Sequence[str], thresholds: Mapping[str, float],
                  target_precision: float = 0.90, grid: Sequence[float] = DEFAULT_MARGIN_GRID) -> float:
    """The smallest margin in `grid` whose auto-routed precision (with `thresholds`) reaches the target.

    Coverage only falls as the margin grows, so the smallest feasible margin is also the one with most coverage.
    Per-class thresholds usually reach the target alone (margin 0); a margin matters when fallback thresholds or
    near-ties between two topics drag pooled precision down. If no margin reaches the target, the one with the
    highest precision is returned (the smallest among equals)."""
    if not grid:
        raise ValueError("empty margin grid")
    best_margin, best_precision = float(min(grid)), -1.0
    for margin in sorted(grid):
        _, precision = coverage_at_thresholds(probs, y, labels, thresholds, margin)
        if math.isnan(precision):
            continue
        if precision >= target_precision - _EPS:
            return float(margin)
        if precision > best_precision:
            best_margin, best_precision = float(margin), precision
    return best_margin


# ------------------------------------------------------------------------------------- urgency safety


def choose_recall_threshold(p_positive: np.ndarray, is_positive: np.ndarray, target_recall: float = 0.95) -> float:
    """The largest threshold t with recall({p >= t}) >= target_recall on the fitting data.

    That is the k-th highest score among true positives, k = ceil(target * n_positives): any higher threshold
    loses one of the k positives it needs. Raises ValueError when there are no positives."""
    scores = np.asarray(p_positive, dtype=np.float64).ravel()
    positive = np.asarray(is_positive, dtype=bool).ravel()
    if scores.shape != positive.shape:
        raise ValueError(f"{scores.size} scores but {positive.size} positive flags")
    n_pos = int(positive.sum())
    if n_pos == 0:
        raise ValueError("no positive items: a recall threshold is undefined")
    if not 0.0 < target_recall <= 1.0:
        raise ValueError(f"target_recall must be in (0, 1], got {target_recall}")
    k = max(1, math.ceil(target_recall * n_pos - 1e-9))
    return float(np.sort(scores[positive])[::-1][k - 1])


def apply_akut_threshold(urgency_probs: np.ndarray, labels: Sequence[str], threshold: float,
                         akut_label: str = "akut") -> np.ndarray:
    """Predicted urgency indices: akut when p(akut) >= threshold, otherwise the argmax over the other levels.

    So akut is never chosen below the threshold even when it is the most likely level; the threshold alone
    decides akut, which keeps its recall/precision exactly what was measured when choosing it."""
    p = _as_2d(urgency_probs)
    labels = list(labels)
    if p.shape[1] != len(labels):
        raise ValueError(f"{p.shape[1]} probability columns but {len(labels)} labels")
    if akut_label not in labels:
        raise ValueError(f"{akut_label!r} is not an urgency label")
    a = labels.index(akut_label)
    if p.shape[1] == 1:
        return np.zeros(len(p), dtype=np.int64)
    others = p.copy()
    others[:, a] = -np.inf
    return np.where(p[:, a] >= threshold, a, np.argmax(others, axis=1)).astype(np.int64)


# ------------------------------------------------------------------------------------------ the policy


@dataclass(frozen=True)
class Decision:
    """What the policy decides for one inquiry (probabilities are calibrated)."""

    topic: str
    topic_confidence: float
    topic_margin: float
    second_topic: str | None
    topic_probabilities: dict[str, float]
    needs_review: bool
    review_reasons: tuple[str, ...]
    urgency: str
    urgency_probabilities: dict[str, float]
    # True when akut was chosen by the safety threshold although another level was more likely.
    urgency_by_threshold: bool = False


@dataclass(frozen=True, eq=False)
class DecisionPolicy:
    """Calibrators, thresholds and targets of both heads: raw model probabilities in, decisions out."""

    topic_labels: tuple[str, ...]
    urgency_labels: tuple[str, ...]
    topic_calibrator: Calibrator
    urgency_calibrator: Calibrator
    topic_thresholds: dict[str, float]
    min_margin: float = 0.0
    # None: no akut on dev to fit it, plain argmax urgency.
    akut_threshold: float | None = None
    target_precision: float = 0.90
    target_recall: float = 0.95
    akut_label: str = "akut"
    # Guards against text unlike the training data, where calibrated confidence is no longer trustworthy: a
    # person sorts an inquiry whose similarity to the training texts is below `min_familiarity`, or whose
    # ensemble members disagree on the topic. None / False: the guard is off.
    min_familiarity: float | None = None
    review_on_member_disagreement: bool = False
    # The languages the policy was calibrated on (enough of them on dev). Text in any other language is never
    # auto-routed, and waits in manual triage at no less than `unserved_language_urgency`: a model that cannot
    # read the text cannot be trusted to say it is not urgent. None: no language guard.
    served_languages: tuple[str, ...] | None = None
    unserved_language_urgency: str = "hog"

    def _urgency(self, urgency_cal: np.ndarray) -> np.ndarray:
        if self.akut_threshold is None or self.akut_label not in self.urgency_labels:
            return np.argmax(urgency_cal, axis=1)
        return apply_akut_threshold(urgency_cal, self.urgency_labels, self.akut_threshold, self.akut_label)

    def calibrate(self, topic_probs_raw: np.ndarray, urgency_probs_raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated (topic, urgency) probability matrices."""
        topic = _as_2d(topic_probs_raw)
        urgency = _as_2d(urgency_probs_raw)
        if topic.shape[1] != len(self.topic_labels) or urgency.shape[1] != len(self.urgency_labels):
            raise ValueError(f"expected {len(self.topic_labels)} topic and {len(self.urgency_labels)} urgency columns, "
                             f"got {topic.shape[1]} and {urgency.shape[1]}")
        if len(topic) != len(urgency):
            raise ValueError(f"{len(topic)} topic rows but {len(urgency)} urgency rows")
        return self.topic_calibrator.transform(topic), self.urgency_calibrator.transform(urgency)

    def decide(self, topic_probs_raw: np.ndarray, urgency_probs_raw: np.ndarray, *,
               familiarity: np.ndarray | None = None, member_topics: np.ndarray | None = None,
               languages: Sequence[str] | None = None) -> list[Decision]:
        """Decisions per row. `familiarity` (similarity to the training texts, one per row), `member_topics`
        (each ensemble member's top topic index, members x rows) and `languages` (each text's language code)
        feed the guards when the policy has them on."""
        topic_cal, urgency_cal = self.calibrate(topic_probs_raw, urgency_probs_raw)
        pred, conf, second, margin = _top2(topic_cal)
        urgency_pred = self._urgency(urgency_cal)
        urgency_argmax = np.argmax(urgency_cal, axis=1)
        decisions = []
        for i in range(len(topic_cal)):
            topic = self.topic_labels[pred[i]]
            second_topic = self.topic_labels[second[i]] if second[i] >= 0 else None
            threshold = self.topic_thresholds[topic]
            reasons = []
            if math.isinf(threshold):
                reasons.append(f"no labelled history: {topic} is a suggestion for a person to confirm")
            elif threshold > 1.0:
                reasons.append(f"topic {topic} is never auto-routed (dev precision below {self.target_precision:.2f})")
            elif conf[i] < threshold:
                reasons.append(f"topic confidence {conf[i]:.2f} < threshold {threshold:.2f} for {topic}")
            if second_topic is not None and margin[i] < self.min_margin - _EPS:
                reasons.append(f"margin {margin[i]:.2f} to second topic {second_topic} < {self.min_margin:.2f}")
            if self.min_familiarity is not None and familiarity is not None \
                    and familiarity[i] < self.min_familiarity - _EPS:
                reasons.append(f"texten liknar inget i träningsdata (likhet {familiarity[i]:.2f} < "
                               f"{self.min_familiarity:.2f})")
            if self.review_on_member_disagreement and member_topics is not None \
                    and len(set(member_topics[:, i].tolist())) > 1:
                named = " / ".join(dict.fromkeys(self.topic_labels[k] for k in member_topics[:, i]))
                reasons.append(f"modellerna är oeniga om ämnet ({named})")
            urgency = self.urgency_labels[urgency_pred[i]]
            if self.served_languages is not None and languages is not None \
                    and languages[i] not in self.served_languages:
                reasons.append(f"texten är på {language_name(languages[i])}, som modellen inte är kalibrerad för")
                urgency = at_least(urgency, self.unserved_language_urgency)
            decisions.append(Decision(
                topic=topic,
                topic_confidence=float(conf[i]),
                topic_margin=float(margin[i]),
                second_topic=second_topic,
                topic_probabilities={label: float(v) for label, v in zip(self.topic_labels, topic_cal[i], strict=True)},
                needs_review=bool(reasons),
                review_reasons=tuple(reasons),
                urgency=urgency,
                urgency_probabilities={label: float(v) for label, v in zip(self.urgency_labels, urgency_cal[i],
                                                                           strict=True)},
                urgency_by_threshold=bool(urgency_pred[i] != urgency_argmax[i]
                                          and self.urgency_labels[urgency_pred[i]] == self.akut_label),
            ))
        return decisions


def suggestion_policy(topic_labels: Sequence[str], urgency_labels: Sequence[str]) -> DecisionPolicy:
    """The policy of a model without labelled history (zero-shot): probabilities as they are and no topic
    auto-routed, so a person confirms every suggestion; red flags still raise urgency, and so does the language
    guard for text in other languages than the Swedish and English the taxonomy is described in."""
    return DecisionPolicy(topic_labels=tuple(topic_labels), urgency_labels=tuple(urgency_labels),
                          topic_calibrator=Calibrator("none"), urgency_calibrator=Calibrator("none"),
                          topic_thresholds={label: math.inf for label in topic_labels},
                          served_languages=("sv", "en"))


def policy_report(policy: DecisionPolicy, topic_probs: np.ndarray, topic_y: np.ndarray | Sequence,
                  urgency_probs: np.ndarray, urgency_y: np.ndarray | Sequence, n_bins: int = 15) -> dict[str, float]:
    """Metrics of a policy on a labelled split (flat floats, ready for MLflow). Undefined values (no auto-routed
    item, no akut case or prediction) are left out rather than reported as 0."""
    topic_raw, urgency_raw = _as_2d(topic_probs), _as_2d(urgency_probs)
    ty = _encode(topic_y, policy.topic_labels)
    uy = _encode(urgency_y, policy.urgency_labels)
    topic_cal, urgency_cal = policy.calibrate(topic_raw, urgency_raw)
    report: dict[str, float] = {"n": float(len(ty))}
    if len(ty) == 0:
        return report
    for head, raw, cal, y in (("topic", topic_raw, topic_cal, ty), ("urgency", urgency_raw, urgency_cal, uy)):
        report[f"{head}_ece_raw"] = expected_calibration_error(raw, y, n_bins)
        report[f"{head}_ece_calibrated"] = expected_calibration_error(cal, y, n_bins)
        report[f"{head}_nll_raw"] = negative_log_likelihood(_normalise(raw), y)
        report[f"{head}_nll_calibrated"] = negative_log_likelihood(cal, y)
    coverage, precision = coverage_at_thresholds(topic_cal, ty, policy.topic_labels, policy.topic_thresholds,
                                                 policy.min_margin)
    report["topic_coverage"] = coverage
    if not math.isnan(precision):
        report["topic_auto_precision"] = precision
    report["topic_accuracy"] = float((np.argmax(topic_cal, axis=1) == ty).mean())
    if policy.akut_label in policy.urgency_labels:
        a = policy.urgency_labels.index(policy.akut_label)
        akut_pred = policy._urgency(urgency_cal) == a
        akut_true = uy == a
        if akut_true.any():
            report["akut_recall"] = float((akut_pred & akut_true).sum() / akut_true.sum())
        if akut_pred.any():
            report["akut_precision"] = float((akut_pred & akut_true).sum() / akut_pred.sum())
        if akut_true.any():
            # Kinds compared at equal akut precision, whatever threshold each policy chose.
            for precision in (0.75, 0.90):
                report[f"akut_recall_at_precision_{precision:.2f}"] = recall_at_precision(
                    urgency_cal[:, a], akut_true, precision)
    return report


def recall_at_precision(scores: np.ndarray, is_positive: np.ndarray, precision: float) -> float:
    """The highest recall of any threshold on `scores` whose precision is at least `precision` (0 if none)."""
    from sklearn.metrics import precision_recall_curve

    precisions, recalls, _ = precision_recall_curve(is_positive, scores)
    reachable = recalls[precisions >= precision]
    return float(reachable.max()) if reachable.size else 0.0


def fit_policy(topic_probs_dev: np.ndarray, topic_y_dev: np.ndarray | Sequence, urgency_probs_dev: np.ndarray,
               urgency_y_dev: np.ndarray | Sequence, topic_labels: Sequence[str], urgency_labels: Sequence[str],
               target_precision: float = 0.90, target_recall: float = 0.95, method: CalibrationMethod = "temperature",
               *, min_support: int = 5, min_margin: float | None = None, akut_label: str = "akut",
               n_bins: int = 15) -> tuple[DecisionPolicy, dict[str, float]]:
    """Fit calibrators, topic thresholds, the margin and the akut threshold on dev; return the policy and a report.

    Order matters: thresholds are chosen on calibrated probabilities, since that is what `decide` compares them
    with. `min_margin=None` picks it with `choose_margin`; a number fixes it. Labels may be indices or strings."""
    topic_labels, urgency_labels = tuple(topic_labels), tuple(urgency_labels)
    topic_raw, urgency_raw = _as_2d(topic_probs_dev), _as_2d(urgency_probs_dev)
    ty = _encode(topic_y_dev, topic_labels)
    uy = _encode(urgency_y_dev, urgency_labels)
    if akut_label not in urgency_labels:
        raise ValueError(f"{akut_label!r} is not an urgency label: {urgency_labels}")

    topic_calibrator = fit_calibrator(topic_raw, ty, method)
    urgency_calibrator = fit_calibrator(urgency_raw, uy, method)
    topic_cal = topic_calibrator.transform(topic_raw)
    urgency_cal = urgency_calibrator.transform(urgency_raw)

    thresholds = choose_class_thresholds(topic_cal, ty, topic_labels, target_precision, min_support)
    margin = choose_margin(topic_cal, ty, topic_labels, thresholds, target_precision) if min_margin is None \
        else float(min_margin)

    a = urgency_labels.index(akut_label)
    is_akut = uy == a
    akut_threshold = choose_recall_threshold(urgency_cal[:, a], is_akut, target_recall) if is_akut.any() else None

    policy = DecisionPolicy(topic_labels=topic_labels, urgency_labels=urgency_labels, topic_calibrator=topic_calibrator,
                            urgency_calibrator=urgency_calibrator, topic_thresholds=thresholds, min_margin=margin,
                            akut_threshold=akut_threshold, target_precision=target_precision,
                            target_recall=target_recall, akut_label=akut_label)
    report = policy_report(policy, topic_raw, ty, urgency_raw, uy, n_bins)
    report.update({
        "target_precision": float(target_precision),
        "target_recall": float(target_recall),
        "topic_min_margin": margin,
        "topic_classes_never_routed": float(sum(t > 1.0 for t in thresholds.values())),
    })
    if akut_threshold is not None:
        report["akut_threshold"] = akut_threshold
    for head, calibrator in (("topic", topic_calibrator), ("urgency", urgency_calibrator)):
        if calibrator.method == "temperature":
            report[f"{head}_temperature"] = calibrator.temperature
    return policy, report
