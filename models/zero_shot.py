"""Zero-shot bootstrap for a municipality without labelled history: each inquiry takes the topic (and urgency)
whose taxonomy description it is most similar to, in e5's embedding space. No labels are used."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.encoder import SentenceEncoder
from pipeline.config import Taxonomy

# Cosine similarities of e5 embeddings sit in a narrow band (about 0.75-0.9); dividing by a small temperature
# before the softmax turns those differences into usable probabilities.
TEMPERATURE = 0.02


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class ZeroShotModel:
    """A TextModel whose 'classes' are the taxonomy's own descriptions, embedded once."""

    def __init__(self, encoder: SentenceEncoder, taxonomy: Taxonomy, temperature: float = TEMPERATURE) -> None:
        self.encoder = encoder
        self.temperature = temperature
        self.topic_labels = taxonomy.topic_codes
        self.urgency_labels = taxonomy.urgency_codes
        self.topic_prototypes = encoder.encode([f"{t.name}: {t.description}" for t in taxonomy.topics])
        self.urgency_prototypes = encoder.encode([f"{u.name}: {u.description}" for u in taxonomy.urgencies])

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        vectors = self.encoder.encode(texts)
        return (_softmax(vectors @ self.topic_prototypes.T / self.temperature),
                _softmax(vectors @ self.urgency_prototypes.T / self.temperature))
