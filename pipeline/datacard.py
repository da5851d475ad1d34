"""Counts for the corpus data card, computed from the corpus files and written into data/README.md."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pipeline.config import URGENCY_CODES
from pipeline.corpus import SPLITS, CorpusItem, load_split, word_count

START, END = "<!-- generated:start -->", "<!-- generated:end -->"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def counts_markdown(corpus_dir: Path, topics: Sequence[str]) -> str:
    """Markdown tables: size per split, topic x urgency, channel x language per split, and lengths."""
    splits: dict[str, list[CorpusItem]] = {split: load_split(corpus_dir, split) for split in SPLITS}
    everything = [item for items in splits.values() for item in items]
    total = len(everything)
    parts = ["### Size per split", _table(
        ["split", "inquiries", "share"],
        [(split, len(items), f"{len(items) / total:.1%}") for split, items in splits.items()] + [("all", total, "100%")],
    )]

    by_topic = Counter((i.topic, i.urgency) for i in everything)
    test_topic = Counter(i.topic for i in splits["test"])
    parts += ["### Topic x urgency (all splits)", _table(
        ["topic", *URGENCY_CODES, "total", "in test"],
        [(t, *(by_topic[(t, u)] for u in URGENCY_CODES), sum(by_topic[(t, u)] for u in URGENCY_CODES), test_topic[t])
         for t in topics]
        + [("all", *(sum(by_topic[(t, u)] for t in topics) for u in URGENCY_CODES), total, len(splits["test"]))],
    )]

    combos = [("email", "sv"), ("email", "en"), ("call", "sv"), ("call", "en")]
    parts += ["### Channel x language per split", _table(
        ["split", *(f"{c} {lang}" for c, lang in combos)],
        [(split, *(sum(1 for i in items if (i.channel, i.lang) == combo) for combo in combos))
         for split, items in splits.items()],
    )]

    words = sorted(word_count(i) for i in everything)
    quantile = lambda q: words[min(len(words) - 1, int(q * len(words)))]  # noqa: E731
    parts += ["### Length in words (subject + body)", _table(
        ["min", "p10", "median", "p90", "max"], [(words[0], quantile(0.1), quantile(0.5), quantile(0.9), words[-1])],
    )]
    return "\n\n".join(parts)


SCORE_COLUMNS = ("topic_macro_f1", "topic_accuracy", "urgency_macro_f1", "akut_recall", "akut_precision",
                 "auto_share", "auto_precision", "topic_ece", "n")
GENRE_COLUMNS = ("topic_accuracy", "auto_share", "auto_precision", "n")


def _cell(metric: str, value: float | None) -> str:
    return "–" if value is None else str(int(value)) if metric == "n" else f"{value:.3f}"


def scores_markdown(metrics: dict[str, float], sets: Sequence[str], train_size: int) -> str:
    """The baseline's scores per evaluation set, and per genre where a set holds real text; a metric a set cannot
    have (no akut case, nothing auto-routed) shows as '–'."""
    parts = [
        "### Baseline scores (`triage data card`)",
        f"Model: the baseline `tfidf` with the parameters of `configs/training.yaml`, trained on train ({train_size}), "
        "with its decision policy "
        "(calibration, thresholds, akut threshold, guards against unfamiliar text) fitted on dev and the red-flag "
        "rules of `configs/red_flags.yaml`. `auto_share` is the share routed without a person, `auto_precision` the "
        "topic precision among those, `topic_ece` the calibration error of the topic confidence.",
        _table(["set", *SCORE_COLUMNS], [(s, *(_cell(m, metrics.get(f"{s}_{m}")) for m in SCORE_COLUMNS))
                                         for s in sets if f"{s}_n" in metrics]),
    ]
    genres = sorted({(s, key.removeprefix(f"{s}_slice_genre_").removesuffix("_n")) for s in sets for key in metrics
                     if key.startswith(f"{s}_slice_genre_") and key.endswith("_n")})
    if genres:
        parts.append(_table(["set", "genre", *GENRE_COLUMNS],
                            [(s, g, *(_cell(m, metrics.get(f"{s}_slice_genre_{g}_{m}")) for m in GENRE_COLUMNS))
                             for s, g in genres]))
    missing = [f"{s}: {int(metrics[f'{s}_n_missing_text'])}" for s in sets if f"{s}_n_missing_text" in metrics]
    if missing:
        parts.append("Records without their text on the machine that made this card (not scored): "
                     + ", ".join(missing) + ".")
    return "\n\n".join(parts)


def replace_generated(text: str, generated: str) -> str:
    """Put `generated` between the card's markers, keeping the hand-written text around them."""
    if START not in text or END not in text:
        raise ValueError(f"the data card lacks the markers {START} and {END}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{generated.strip()}\n{END}{tail}"
