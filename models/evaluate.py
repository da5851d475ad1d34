"""Evaluation that is identical for every model kind: the same metrics on the same split."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from pipeline.domain import Prediction


def evaluate(predictions: Sequence[Prediction], topics: Sequence[str], urgencies: Sequence[str]) -> dict[str, float]:
    """Topic macro-F1 and accuracy, urgency macro-F1, and akut recall and precision."""
    predicted_topics = [p.topic for p in predictions]
    predicted_urgencies = [p.urgency for p in predictions]
    akut_true = [u == "akut" for u in urgencies]
    akut_pred = [u == "akut" for u in predicted_urgencies]
    return {
        "topic_macro_f1": float(f1_score(topics, predicted_topics, average="macro", zero_division=0)),
        "topic_accuracy": float(accuracy_score(topics, predicted_topics)),
        "urgency_macro_f1": float(f1_score(urgencies, predicted_urgencies, average="macro", zero_division=0)),
        "akut_recall": float(recall_score(akut_true, akut_pred, zero_division=0)),
        "akut_precision": float(precision_score(akut_true, akut_pred, zero_division=0)),
        "n": float(len(predictions)),
    }
