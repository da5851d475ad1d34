"""The scikit-learn baseline: TF-IDF over word and character n-grams, one logistic regression per head."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from models.heads import HeadedModel, LogisticHeads
from pipeline.config import TfidfParams


class TfidfTriageModel(HeadedModel):
    """Shared TF-IDF features feeding a topic head and an urgency head."""

    def __init__(self, params: TfidfParams, seed: int = 13) -> None:
        self.params = params
        self.heads = LogisticHeads(params.C, params.class_weight, seed)

    def fit(self, texts: Sequence[str], topics: Sequence[str], urgencies: Sequence[str]) -> TfidfTriageModel:
        p = self.params
        self.features = FeatureUnion([
            ("words", TfidfVectorizer(ngram_range=(1, p.word_ngram_max), min_df=p.min_df, sublinear_tf=True,
                                      max_features=p.max_features)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(p.char_ngram_min, p.char_ngram_max),
                                      min_df=p.min_df, sublinear_tf=True, max_features=p.max_features)),
        ])
        self.heads.fit(self.features.fit_transform(texts), topics, urgencies)
        return self

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        return self.heads.predict_proba(self.features.transform(texts))
