"""How familiar an inquiry looks next to the texts a model was trained on.

A calibrated confidence is calibrated only on text like the training data. On text unlike anything the model
saw (another genre, another register, a language it was not trained on) a classifier stays sure of itself while it
is wrong, so its own probabilities cannot say "unsure". This module gives the decision policy a signal that does
not come from the classifier: the mean cosine similarity of an inquiry to its nearest training texts, in a
character n-gram TF-IDF space that any model kind can share (it reads the same prepared text as the model).

The index keeps hashed features and no vocabulary, so it pickles small and carries no training words besides
the hashed, redacted n-gram counts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

# 2^18 hashed character n-grams: collisions are rare at a few thousand short texts, and the idf vector is 2 MiB.
N_FEATURES = 2**18
# Items scored per block, so the dense query x train similarity block stays a few MiB.
BLOCK = 512


class FamiliarityIndex:
    """Mean cosine similarity of a text to its k nearest training texts (1.0: a training text itself)."""

    def __init__(self, k: int = 5, ngram_range: tuple[int, int] = (3, 5)) -> None:
        self.k = k
        self.ngram_range = ngram_range
        self._train: sparse.csr_matrix | None = None
        self._idf: TfidfTransformer | None = None

    def _vectorizer(self) -> HashingVectorizer:
        return HashingVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, n_features=N_FEATURES,
                                 alternate_sign=False, norm=None, lowercase=True)

    def fit(self, texts: Sequence[str]) -> FamiliarityIndex:
        if len(texts) < self.k:
            raise ValueError(f"a familiarity index needs at least k={self.k} training texts, got {len(texts)}")
        counts = self._vectorizer().transform(texts)
        self._idf = TfidfTransformer(sublinear_tf=True).fit(counts)
        self._train = self._idf.transform(counts).astype(np.float32).tocsr()
        return self

    def similarity(self, texts: Sequence[str]) -> np.ndarray:
        """Per text, the mean cosine similarity to its k most similar training texts, in [0, 1]."""
        if self._train is None or self._idf is None:
            raise ValueError("the familiarity index is not fitted")
        if not texts:
            return np.zeros(0)
        query = self._idf.transform(self._vectorizer().transform(texts)).astype(np.float32).tocsr()
        k = min(self.k, self._train.shape[0])
        scores = np.empty(query.shape[0])
        for start in range(0, query.shape[0], BLOCK):
            block = (query[start:start + BLOCK] @ self._train.T).toarray()
            nearest = np.partition(block, block.shape[1] - k, axis=1)[:, -k:]
            scores[start:start + BLOCK] = nearest.mean(axis=1)
        return np.clip(scores, 0.0, 1.0)
