"""Evaluation that is identical for every model kind: the same metrics, slices and artifacts on the same sets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from pipeline.corpus import CorpusItem, word_count
from pipeline.domain import Prediction

SHORT_WORDS = 30

# Slices every report breaks the scores down by; names become metric names, so they stay short and stable.
SLICES: dict[str, Callable[[CorpusItem], bool]] = {
    "email": lambda i: i.channel == "email",
    "call": lambda i: i.channel == "call",
    "sv": lambda i: i.lang == "sv",
    "en": lambda i: i.lang == "en",
    "short": lambda i: word_count(i) < SHORT_WORDS,
    "long": lambda i: word_count(i) >= SHORT_WORDS,
}


def evaluate(predictions: Sequence[Prediction], topics: Sequence[str], urgencies: Sequence[str]) -> dict[str, float]:
    """Topic macro-F1 and accuracy, urgency macro-F1, and akut recall and precision. Akut recall (precision)
    is left out when the set has no akut case (the model predicted none), rather than reported as 0."""
    predicted_topics = [p.topic for p in predictions]
    predicted_urgencies = [p.urgency for p in predictions]
    akut_true = np.array([u == "akut" for u in urgencies])
    akut_pred = np.array([u == "akut" for u in predicted_urgencies])
    metrics = {
        "topic_macro_f1": float(f1_score(topics, predicted_topics, average="macro", zero_division=0)),
        "topic_accuracy": float(accuracy_score(topics, predicted_topics)),
        "urgency_macro_f1": float(f1_score(urgencies, predicted_urgencies, average="macro", zero_division=0)),
        "n": float(len(predictions)),
    }
    if akut_true.any():
        metrics["akut_recall"] = float((akut_true & akut_pred).sum() / akut_true.sum())
    if akut_pred.any():
        metrics["akut_precision"] = float((akut_true & akut_pred).sum() / akut_pred.sum())
    return metrics


def routing_metrics(predictions: Sequence[Prediction], topics: Sequence[str], n_bins: int = 15) -> dict[str, float]:
    """What routing without a person would do: the share the policy auto-routes (`auto_share`), the topic
    precision among those (`auto_precision`, left out when none is), and the top-label topic ECE of the served
    confidences. Guards (unfamiliar text, member disagreement) count, as they do in routing."""
    if not predictions:
        return {}
    correct = np.array([p.topic == t for p, t in zip(predictions, topics, strict=True)])
    auto = np.array([not p.needs_review for p in predictions])
    confidence = np.array([p.topic_confidence for p in predictions])
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    ece = sum(abs(correct[bins == b].mean() - confidence[bins == b].mean()) * (bins == b).sum()
              for b in range(n_bins) if (bins == b).any()) / len(predictions)
    metrics = {"auto_share": float(auto.mean()), "topic_ece": float(ece)}
    if auto.any():
        metrics["auto_precision"] = float(correct[auto].mean())
    return metrics


def genre_of(item: CorpusItem) -> str | None:
    """The genre of a real text (`source` "real:<genre>:<publisher>"), None for written items."""
    parts = item.source.split(":")
    return parts[1] if parts[0] == "real" and len(parts) > 1 else None


def evaluate_items(items: Sequence[CorpusItem], predictions: Sequence[Prediction]) -> dict[str, float]:
    """`evaluate` and `routing_metrics` on the whole set, plus per slice (slice_<name>_...): topic macro-F1 and
    akut recall per channel, language and length, and accuracy and routing per genre of real text."""
    metrics = evaluate(predictions, [i.topic for i in items], [i.urgency for i in items])
    metrics.update(routing_metrics(predictions, [i.topic for i in items]))
    slices: dict[str, tuple[Callable[[CorpusItem], bool], tuple[str, ...]]] = {
        name: (member, ("topic_macro_f1", "akut_recall", "n")) for name, member in SLICES.items()}
    for genre in sorted({g for g in map(genre_of, items) if g}):
        slices[f"genre_{genre}"] = (lambda i, g=genre: genre_of(i) == g,
                                    ("topic_accuracy", "auto_share", "auto_precision", "n"))
    for name, (member, wanted) in slices.items():
        chosen = [n for n, item in enumerate(items) if member(item)]
        if not chosen:
            continue
        chosen_predictions = [predictions[n] for n in chosen]
        chosen_topics = [items[n].topic for n in chosen]
        sliced = evaluate(chosen_predictions, chosen_topics, [items[n].urgency for n in chosen])
        sliced.update(routing_metrics(chosen_predictions, chosen_topics))
        metrics.update({f"slice_{name}_{metric}": sliced[metric] for metric in wanted if metric in sliced})
    return metrics


def per_topic_table(topics: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> list[dict[str, object]]:
    """Precision, recall, F1 and support per topic, in taxonomy order."""
    precision, recall, f1, support = precision_recall_fscore_support(topics, predicted, labels=list(labels),
                                                                     zero_division=0)
    return [
        {"topic": label, "precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4),
         "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    ]


def confusion_matrix_png(topics: Sequence[str], predicted: Sequence[str], labels: Sequence[str], path: Path,
                         title: str) -> Path:
    """Row-normalised topic confusion matrix as a PNG (rows: true topic, columns: predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = confusion_matrix(topics, predicted, labels=list(labels)).astype(float)
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    figure, axes = plt.subplots(figsize=(11, 10))
    image = axes.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    axes.set_yticks(range(len(labels)), labels, fontsize=7)
    axes.set_xlabel("predicted topic")
    axes.set_ylabel("true topic")
    axes.set_title(title)
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            axes.text(column, row, int(count), ha="center", va="center", fontsize=5,
                      color="white" if normalised[row, column] > 0.5 else "black")
    figure.colorbar(image, fraction=0.04)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
