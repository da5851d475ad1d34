"""The scikit-learn baseline: TF-IDF over word and character n-grams, one logistic regression per head."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from pipeline.config import TfidfParams


class TfidfTriageModel:
    """Shared TF-IDF features feeding a topic head and an urgency head."""

    def __init__(self, params: TfidfParams, seed: int = 13) -> None:
        self.params = params
        self.seed = seed
        self.topic_labels: list[str] = []
        self.urgency_labels: list[str] = []

    def _head(self) -> LogisticRegression:
        return LogisticRegression(C=self.params.C, class_weight=self.params.class_weight, max_iter=3000,
                                  random_state=self.seed)

    def fit(self, texts: Sequence[str], topics: Sequence[str], urgencies: Sequence[str]) -> TfidfTriageModel:
        p = self.params
        self.features = FeatureUnion([
            ("words", TfidfVectorizer(ngram_range=(1, p.word_ngram_max), min_df=p.min_df, sublinear_tf=True,
                                      max_features=p.max_features)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(p.char_ngram_min, p.char_ngram_max),
                                      min_df=p.min_df, sublinear_tf=True, max_features=p.max_features)),
        ])
        matrix = self.features.fit_transform(texts)
        self.topic_head = self._head().fit(matrix, topics)
        self.urgency_head = self._head().fit(matrix, urgencies)
        self.topic_labels = [str(c) for c in self.topic_head.classes_]
        self.urgency_labels = [str(c) for c in self.urgency_head.classes_]
        return self

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        matrix = self.features.transform(texts)
        return self.topic_head.predict_proba(matrix), self.urgency_head.predict_proba(matrix)
