"""Two logistic-regression heads, topic and urgency, over one shared feature matrix (every linear kind)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression


class LogisticHeads:
    def __init__(self, C: float, class_weight: str | None, seed: int) -> None:
        self.C, self.class_weight, self.seed = C, class_weight, seed
        self.topic_labels: list[str] = []
        self.urgency_labels: list[str] = []

    def _head(self, features: Any, labels: Sequence[str]) -> LogisticRegression:
        return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=5000,
                                  random_state=self.seed).fit(features, labels)

    def fit(self, features: Any, topics: Sequence[str], urgencies: Sequence[str]) -> LogisticHeads:
        self.topic_head, self.urgency_head = self._head(features, topics), self._head(features, urgencies)
        self.topic_labels = [str(c) for c in self.topic_head.classes_]
        self.urgency_labels = [str(c) for c in self.urgency_head.classes_]
        return self

    def predict_proba(self, features: Any) -> tuple[np.ndarray, np.ndarray]:
        return self.topic_head.predict_proba(features), self.urgency_head.predict_proba(features)


class HeadedModel:
    """Base of the model kinds whose labels are those of their `heads`."""

    heads: LogisticHeads

    @property
    def topic_labels(self) -> list[str]:
        return self.heads.topic_labels

    @property
    def urgency_labels(self) -> list[str]:
        return self.heads.urgency_labels
