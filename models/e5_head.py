"""The `e5-head` model kind: frozen e5 sentence embeddings with one logistic-regression head per task.

Embeddings are cached on disk by a hash of encoder and text, so retraining the heads (new labels, new
hyper-parameters) costs seconds instead of re-encoding the corpus."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.encoder import SentenceEncoder
from models.heads import HeadedModel, LogisticHeads
from pipeline.config import HeadParams


class EmbeddingCache:
    """Embeddings on disk, one .npy file per text hash under a folder per encoder."""

    def __init__(self, folder: Path, encoder_key: str) -> None:
        self.folder = folder / hashlib.sha256(encoder_key.encode()).hexdigest()[:16]

    def _path(self, text: str) -> Path:
        digest = hashlib.sha256(text.encode()).hexdigest()
        return self.folder / digest[:2] / f"{digest}.npy"

    def encode(self, encoder: SentenceEncoder, texts: Sequence[str]) -> np.ndarray:
        """Cached vectors where present; the rest are encoded in one batch and stored."""
        vectors: list[np.ndarray | None] = []
        for text in texts:
            path = self._path(text)
            vectors.append(np.load(path) if path.is_file() else None)
        missing = [n for n, vector in enumerate(vectors) if vector is None]
        if missing:
            fresh = encoder.encode([texts[n] for n in missing])
            for n, vector in zip(missing, fresh, strict=True):
                path = self._path(texts[n])
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, vector)
                vectors[n] = vector
        return np.stack(vectors).astype(np.float32)  # type: ignore[arg-type]


class EmbeddingHeadModel(HeadedModel):
    """Topic and urgency heads over one shared, frozen sentence encoder."""

    def __init__(self, encoder: SentenceEncoder, params: HeadParams, seed: int = 13,
                 cache: EmbeddingCache | None = None) -> None:
        self.encoder = encoder
        self.heads = LogisticHeads(params.C, params.class_weight, seed)
        # Used while training and evaluating; train_and_evaluate drops it before the model is registered.
        self.cache = cache

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        return self.cache.encode(self.encoder, texts) if self.cache else self.encoder.encode(texts)

    def fit(self, texts: Sequence[str], topics: Sequence[str], urgencies: Sequence[str]) -> EmbeddingHeadModel:
        self.heads.fit(self._vectors(texts), topics, urgencies)
        return self

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        return self.heads.predict_proba(self._vectors(texts))
