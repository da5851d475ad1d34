"""Daily monitoring of what the routing model sees and does, compared with what it was trained on:
drift of the topic and urgency distributions (PSI and Jensen-Shannon divergence), the confidence
distribution, the share sent to manual triage, and the reroute rate per department queue."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

# Conventional PSI bands: below 0.1 stable, 0.1-0.25 a moderate shift, above 0.25 a major one.
PSI_MODERATE = 0.10
PSI_MAJOR = 0.25
# Empty categories would make PSI infinite; a small floor keeps it finite and comparable.
FLOOR = 1e-4
CONFIDENCE_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class CaseSnapshot:
    """What monitoring reads of one routed case: no text, no personal data."""

    topic: str
    urgency: str
    topic_confidence: float
    needs_review: bool
    # The queue the model first sent it to, and whether a handler moved it elsewhere.
    first_queue: str
    rerouted: bool = False


def distribution(labels: Sequence[str] | Mapping[str, int], categories: Sequence[str]) -> np.ndarray:
    """Shares per category, in the given order, floored so that no share is zero."""
    counts = labels if isinstance(labels, Mapping) else Counter(labels)
    raw = np.array([counts.get(c, 0) for c in categories], dtype=float)
    total = raw.sum()
    shares = raw / total if total else np.full(len(categories), 1 / len(categories))
    shares = np.maximum(shares, FLOOR)
    return shares / shares.sum()


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of `actual` against `expected` (both floored shares)."""
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits, between 0 (same) and 1 (disjoint)."""
    m = (p + q) / 2
    return float(0.5 * np.sum(p * np.log2(p / m)) + 0.5 * np.sum(q * np.log2(q / m)))


def drift_level(value: float) -> str:
    return "major" if value >= PSI_MAJOR else "moderate" if value >= PSI_MODERATE else "stable"


@dataclass(frozen=True)
class MonitorReport:
    window: str
    cases: int
    topic_psi: float
    topic_js: float
    urgency_psi: float
    urgency_js: float
    manual_share: float
    confidence_mean: float
    confidence_quantiles: dict[str, float]
    confidence_histogram: list[tuple[str, int]]
    # Topics whose share moved most: (topic, training share, window share).
    topic_shifts: list[tuple[str, float, float]]
    urgency_shares: list[tuple[str, float, float]]
    # Per department queue: (cases first routed there, rerouted by a handler).
    reroutes: dict[str, tuple[int, int]] = field(default_factory=dict)

    def metrics(self) -> dict[str, float]:
        figures = {
            "monitor_cases": float(self.cases), "topic_psi": self.topic_psi, "topic_js": self.topic_js,
            "urgency_psi": self.urgency_psi, "urgency_js": self.urgency_js, "manual_share": self.manual_share,
            "confidence_mean": self.confidence_mean,
            **{f"confidence_{name}": value for name, value in self.confidence_quantiles.items()},
        }
        routed = sum(n for n, _ in self.reroutes.values())
        if routed:
            figures["reroute_rate"] = sum(r for _, r in self.reroutes.values()) / routed
        figures.update({f"reroute_rate_{queue}": r / n for queue, (n, r) in self.reroutes.items() if n})
        return figures

    def markdown(self) -> str:
        if not self.cases:
            return f"# Monitor report, {self.window}\n\nNo routed cases in the window.\n"
        lines = [
            f"# Monitor report, {self.window}",
            "",
            f"{self.cases} routed cases compared with the training data.",
            "",
            "| signal | value | reading |",
            "|---|---|---|",
            f"| topic drift (PSI) | {self.topic_psi:.3f} | {drift_level(self.topic_psi)} |",
            f"| topic drift (JS divergence, bits) | {self.topic_js:.3f} | |",
            f"| urgency drift (PSI) | {self.urgency_psi:.3f} | {drift_level(self.urgency_psi)} |",
            f"| urgency drift (JS divergence, bits) | {self.urgency_js:.3f} | |",
            f"| share to manual triage | {self.manual_share:.1%} | |",
            f"| mean topic confidence | {self.confidence_mean:.3f} | "
            + ", ".join(f"{k} {v:.2f}" for k, v in self.confidence_quantiles.items()) + " |",
            "",
            "Topics that moved most (training share → window share):",
            "",
            "| topic | training | window |",
            "|---|---|---|",
            *[f"| {topic} | {before:.1%} | {now:.1%} |" for topic, before, now in self.topic_shifts],
            "",
            "| urgency | training | window |",
            "|---|---|---|",
            *[f"| {urgency} | {before:.1%} | {now:.1%} |" for urgency, before, now in self.urgency_shares],
            "",
            "Topic confidence: " + ", ".join(f"{label}: {n}" for label, n in self.confidence_histogram),
            "",
        ]
        if self.reroutes:
            lines += ["| department queue | routed | rerouted | rate |", "|---|---|---|---|"]
            lines += [f"| {queue} | {n} | {r} | {r / n:.1%} |" for queue, (n, r) in sorted(self.reroutes.items()) if n]
            lines.append("")
        else:
            lines += ["No reroute data yet.", ""]
        return "\n".join(lines)


def build_report(
    cases: Sequence[CaseSnapshot],
    reference_topics: Mapping[str, int],
    reference_urgencies: Mapping[str, int],
    topic_codes: Sequence[str],
    urgency_codes: Sequence[str],
    window: str,
    review_queue: str | None = None,
    top_shifts: int = 5,
) -> MonitorReport:
    """Compare routed cases of a window with the training distribution (label counts of the train split).
    Reroute rates count cases by the department queue they were first sent to; the manual-triage queue is
    left out, since sorting is its job."""
    if not cases:
        return MonitorReport(window, 0, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, {}, [], [], [])
    expected_topics = distribution(reference_topics, topic_codes)
    actual_topics = distribution([c.topic for c in cases], topic_codes)
    expected_urgencies = distribution(reference_urgencies, urgency_codes)
    actual_urgencies = distribution([c.urgency for c in cases], urgency_codes)
    confidence = np.array([c.topic_confidence for c in cases], dtype=float)
    histogram, edges = np.histogram(confidence, bins=CONFIDENCE_BINS)
    moved = sorted(range(len(topic_codes)), key=lambda n: -abs(actual_topics[n] - expected_topics[n]))[:top_shifts]
    reroutes: dict[str, tuple[int, int]] = {}
    for queue, group in _group_by_queue(cases, review_queue).items():
        reroutes[queue] = (len(group), sum(c.rerouted for c in group))
    if not any(r for _, r in reroutes.values()):
        reroutes = {}  # no handler has rerouted anything yet: there is no reroute signal to report
    return MonitorReport(
        window=window,
        cases=len(cases),
        topic_psi=psi(expected_topics, actual_topics),
        topic_js=js_divergence(expected_topics, actual_topics),
        urgency_psi=psi(expected_urgencies, actual_urgencies),
        urgency_js=js_divergence(expected_urgencies, actual_urgencies),
        manual_share=float(np.mean([c.needs_review for c in cases])),
        confidence_mean=float(confidence.mean()),
        confidence_quantiles={f"p{q}": float(np.percentile(confidence, q)) for q in (10, 50, 90)},
        confidence_histogram=[(f"{lo:.1f}-{hi:.1f}", int(n)) for lo, hi, n in zip(edges[:-1], edges[1:], histogram,
                                                                                  strict=True)],
        topic_shifts=[(topic_codes[n], float(expected_topics[n]), float(actual_topics[n])) for n in moved],
        urgency_shares=[(code, float(expected_urgencies[n]), float(actual_urgencies[n]))
                        for n, code in enumerate(urgency_codes)],
        reroutes=reroutes,
    )


def _group_by_queue(cases: Sequence[CaseSnapshot], review_queue: str | None) -> dict[str, list[CaseSnapshot]]:
    groups: dict[str, list[CaseSnapshot]] = {}
    for case in cases:
        if case.first_queue != review_queue:
            groups.setdefault(case.first_queue, []).append(case)
    return groups
