"""Evaluation that is identical for every model kind: the same metrics on the same split."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from pipeline.domain import Prediction


def evaluate(predictions: Sequence[Prediction], topics: Sequence[str], urgencies: Sequence[str]) -> dict[str, float]:
    """Topic macro-F1 and accuracy, urgency macro-F1, and akut recall and precision. Akut recall (precision)
    is left out when the set has no akut case (the model predicted none), rather than reported as 0."""
    predicted_topics = [p.topic for p in predictions]
    predicted_urgencies = [p.urgency for p in predictions]
    akut_true = [u == "akut" for u in urgencies]
    akut_pred = [u == "akut" for u in predicted_urgencies]
    metrics = {
        "topic_macro_f1": float(f1_score(topics, predicted_topics, average="macro", zero_division=0)),
        "topic_accuracy": float(accuracy_score(topics, predicted_topics)),
        "urgency_macro_f1": float(f1_score(urgencies, predicted_urgencies, average="macro", zero_division=0)),
        "n": float(len(predictions)),
    }
    if any(akut_true):
        metrics["akut_recall"] = float(recall_score(akut_true, akut_pred))
    if any(akut_pred):
        metrics["akut_precision"] = float(precision_score(akut_true, akut_pred))
    return metrics
