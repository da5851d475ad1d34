"""The model card every registered version carries: what the model is for and not for, what it was trained on
(with the data's hash), how it scores overall and per slice, its known limits, and how people oversee it.
Written for case handlers' managers and for the documentation the EU AI Act and DIGG's guidance on AI in
public administration expect (transparency, human oversight, traceable data)."""

from __future__ import annotations

from dataclasses import dataclass, field

from models.evaluate import SLICES

CARD_FILE = "model_card.md"
HEADLINE_METRICS = {
    "topic_macro_f1": "topic macro-F1",
    "topic_accuracy": "topic accuracy",
    "urgency_macro_f1": "urgency macro-F1",
    "akut_recall": "akut recall",
    "akut_precision": "akut precision",
    "auto_share": "share routed without a person",
    "auto_precision": "topic precision of those routed without a person",
    "topic_ece": "topic calibration error (ECE)",
    "n": "inquiries",
}


@dataclass(frozen=True)
class ModelCardFacts:
    model_name: str
    version: str
    run_id: str
    model_kind: str
    git_commit: str
    dataset_hash: str
    dataset_files: list[str]
    train_size: int
    taxonomy_version: str
    red_flags_version: str
    metrics: dict[str, float]
    evaluation_sets: list[str] = field(default_factory=lambda: ["dev", "test"])
    target_precision: float | None = None
    akut_target_recall: float | None = None
    # Handler-labelled cases added to (or relabelling) the train split.
    feedback_cases: int = 0


def _figure(value: float | None, metric: str) -> str:
    if value is None or value != value:
        return "–"
    return f"{value:.0f}" if metric == "n" else f"{value:.3f}"


def _overall_table(facts: ModelCardFacts) -> list[str]:
    sets = [s for s in facts.evaluation_sets if f"{s}_n" in facts.metrics]
    lines = ["| metric | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for metric, label in HEADLINE_METRICS.items():
        row = [_figure(facts.metrics.get(f"{s}_{metric}"), metric) for s in sets]
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    return lines


def _slice_table(facts: ModelCardFacts, set_name: str = "test") -> list[str]:
    lines = ["| slice | inquiries | topic macro-F1 | akut recall |", "|---|---|---|---|"]
    for name in SLICES:
        prefix = f"{set_name}_slice_{name}_"
        if f"{prefix}n" not in facts.metrics:
            continue
        lines.append(f"| {name} | {_figure(facts.metrics.get(prefix + 'n'), 'n')} | "
                     f"{_figure(facts.metrics.get(prefix + 'topic_macro_f1'), 'f1')} | "
                     f"{_figure(facts.metrics.get(prefix + 'akut_recall'), 'recall')} |")
    return lines


# A slice this far below the whole test split's topic macro-F1 is named as a known weakness.
WEAK_SLICE_GAP = 0.05


def _limits(facts: ModelCardFacts) -> list[str]:
    """Known limits, the measured ones from this run's own figures."""
    m = facts.metrics
    lines = ["- The scores are measured on a written corpus; they are not real-world accuracy."]
    overall = m.get("test_topic_macro_f1")
    if overall is not None:
        weak = [(name, m[f"test_slice_{name}_topic_macro_f1"]) for name in SLICES
                if m.get(f"test_slice_{name}_topic_macro_f1", overall) < overall - WEAK_SLICE_GAP]
        if weak:
            lines.append("- Weaker slices on test (topic macro-F1, whole split " + f"{overall:.3f}): "
                         + ", ".join(f"{name} {value:.3f}" for name, value in weak) + ".")
    for name in facts.evaluation_sets:
        if name not in ("dev", "test") and f"{name}_topic_macro_f1" in m:
            lines.append(f"- On the external set `{name}` (real questions, never trained on), topic macro-F1 is "
                         f"{m[f'{name}_topic_macro_f1']:.3f}: text unlike the corpus is often mis-sorted.")
    akut = m.get("test_akut_recall")
    if akut is not None:
        lines.append(f"- Akut recall on test is {akut:.3f}: about {1 - akut:.0%} of akut inquiries are not flagged "
                     "as akut by the model. The red-flag rules are a safety net, not a guarantee.")
    lines.append("- Urgency is read from wording; an inquiry that understates an emergency may be ranked too low.")
    return lines


def render(facts: ModelCardFacts) -> str:
    """The card as Markdown."""
    m = facts.metrics
    coverage = m.get("test_policy_topic_coverage")
    policy = []
    if facts.target_precision is not None:
        policy.append(f"- Topic thresholds are fitted on dev for {facts.target_precision:.2f} precision of "
                      "auto-routed cases; below them the case goes to manual triage"
                      + (f" (on test, {coverage:.0%} were auto-routed)." if coverage is not None else "."))
    if facts.akut_target_recall is not None:
        policy.append(f"- The akut threshold is fitted on dev for akut recall ≥ {facts.akut_target_recall:.2f}.")
    policy.append(f"- Red-flag rules (version {facts.red_flags_version}) may raise urgency, never lower it, and "
                  "name who to alert.")
    return "\n".join([
        f"# Model card: {facts.model_name} version {facts.version}",
        "",
        f"Model kind `{facts.model_kind}`, MLflow run `{facts.run_id}`, code at git commit `{facts.git_commit}`.",
        "",
        "## Intended use",
        "",
        "Sorting the e-mails and phone notes a Swedish municipality receives: it suggests one of the "
        f"taxonomy's topics (taxonomy version {facts.taxonomy_version}) and an urgency (akut, hog, normal, lag), "
        "and the municipality's routing configuration turns that into a department queue. It supports case "
        "handlers; it takes no decision in a case (myndighetsutövning) and grants or refuses nothing.",
        "",
        "Not intended for: deciding the outcome of a matter, assessing people, or handling text it has not been "
        "evaluated on (other kinds of documents; other languages than Swedish and English, which its language "
        "guard never auto-routes and keeps at urgency hog or above for a person to sort).",
        "",
        "## Training data",
        "",
        f"- {facts.train_size} labelled inquiries from the project's written corpus (train split)"
        + (f", {facts.feedback_cases} of them added or relabelled by case handlers' feedback" if facts.feedback_cases
           else "")
        + "; the decision policy is fitted on the dev split; the test split is never trained or tuned on.",
        f"- Data files (hashed together, evaluation sets included): {', '.join(facts.dataset_files)}; "
        f"SHA-256 (first 16 hex digits): `{facts.dataset_hash}`.",
        "- The corpus is written by the project, not collected from citizens. Personal data in inquiries is "
        "redacted before any model sees it; the raw text stays in the case store.",
        "",
        "## Evaluation",
        "",
        *_overall_table(facts),
        "",
        "By slice, on the test split:",
        "",
        *_slice_table(facts),
        "",
        "## Decision policy",
        "",
        *policy,
        "",
        "## Known limits",
        "",
        *_limits(facts),
        "",
        "## Human oversight",
        "",
        "- Every routed case shows its topic, urgency, confidences and the rules that applied; a case handler "
        "can reroute it; reroutes show in the daily monitor and, as handler feedback, in the promotion gate.",
        "- Uncertain cases go to a manual triage queue instead of a department.",
        "- A new version only replaces the routing model (alias `champion`) when it is not worse on the frozen "
        "test split and on recent handler feedback, and keeps akut recall at its floor; the decision and its "
        "reason are recorded on the version. One command (`triage rollback`) restores the previous champion.",
        "- A daily monitor reports drift of topics and urgencies, confidence, manual-triage share and reroute "
        "rates, so people notice when the model and the inflow part ways.",
        "",
    ])
