"""Evidence behind a topic prediction that the model can honestly give: for the TF-IDF kind, the words of the
inquiry that pushed its score for the topic up the most (TF-IDF weight × the topic head's coefficient).

Only word features are reported; the character n-grams also count towards the score but are not readable
as evidence, so the list explains part of the decision, not all of it. The ensemble's evidence comes from its
TF-IDF member, so it explains that member's share only. Kinds without word features (e5-head, e5-finetune)
give no evidence rather than an invented one."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.base import InquiryClassifier, component_models
from pipeline.preprocess import prepare_text

WORDS_FEATURE = "words"


def weighted_words(classifier: InquiryClassifier, channel: str, subject: str | None, body: str, topic: str,
                   k: int = 8) -> list[tuple[str, float]] | None:
    """The k words (or word n-grams) with the largest positive contribution to `topic`, strongest first;
    None when the model kind has no readable word features."""
    members = component_models(classifier.model)
    model: Any = next((m for m in members if hasattr(m, "features")), classifier.model)
    features, heads = getattr(model, "features", None), getattr(model, "heads", None)
    transformers = dict(getattr(features, "transformer_list", []))
    if WORDS_FEATURE not in transformers or heads is None or topic not in heads.topic_labels:
        return None
    offset = 0
    for name, transformer in features.transformer_list:  # type: ignore[union-attr]
        if name == WORDS_FEATURE:
            break
        offset += len(transformer.get_feature_names_out())
    words = transformers[WORDS_FEATURE]
    names = words.get_feature_names_out()
    row = words.transform([prepare_text(channel, subject, body)]).tocsr()
    coefficients = np.asarray(heads.topic_head.coef_)[heads.topic_labels.index(topic), offset:offset + len(names)]
    contributions = row.data * coefficients[row.indices]
    order = np.argsort(-contributions)[:k]
    return [(str(names[row.indices[i]]), round(float(contributions[i]), 4)) for i in order if contributions[i] > 0]
