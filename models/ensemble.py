"""The `ensemble` model kind: several fitted kinds whose probabilities are averaged, head by head.

Fine-tuned e5 reads topics best and TF-IDF reads urgency best; their mistakes differ, so the average beats each
(README has the figures). The weights are fixed in advance (equal by default), never tuned on dev or test."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.base import TextModel


class EnsembleModel:
    """A TextModel averaging its members' probabilities; every member must share the same labels."""

    def __init__(self, members: Sequence[TextModel], weights: Sequence[float] | None = None) -> None:
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members")
        first = members[0]
        for member in members[1:]:
            if member.topic_labels != first.topic_labels or member.urgency_labels != first.urgency_labels:
                raise ValueError("ensemble members must be trained on the same topic and urgency labels")
        raw = np.ones(len(members)) if weights is None else np.asarray(weights, dtype=np.float64)
        self.members = list(members)
        self.weights = raw / raw.sum()
        self.topic_labels = first.topic_labels
        self.urgency_labels = first.urgency_labels

    def predict_member_proba(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each member's (topic, urgency) probabilities, in member order."""
        return [member.predict_proba(texts) for member in self.members]

    def combine(self, member_proba: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """The weighted average of the members' probabilities, head by head."""
        topic = sum(weight * t for weight, (t, _) in zip(self.weights, member_proba, strict=True))
        urgency = sum(weight * u for weight, (_, u) in zip(self.weights, member_proba, strict=True))
        return np.asarray(topic), np.asarray(urgency)

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        return self.combine(self.predict_member_proba(texts))
