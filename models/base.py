"""The interface every inquiry classifier offers, whatever the model kind behind it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from pipeline.domain import Prediction
from pipeline.preprocess import prepare_text


class InquiryText(NamedTuple):
    """The raw fields of an inquiry that a classifier reads."""

    channel: str
    subject: str | None
    body: str


class TextModel(Protocol):
    """A fitted model that gives class probabilities for prepared texts, one matrix per head."""

    topic_labels: list[str]
    urgency_labels: list[str]

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class InquiryClassifier:
    """Raw inquiries in, predictions out: applies the shared text preparation before the model."""

    model: TextModel
    version: str

    def predict(self, inquiries: Sequence[InquiryText]) -> list[Prediction]:
        if not inquiries:
            return []
        texts = [prepare_text(i.channel, i.subject, i.body) for i in inquiries]
        topic_proba, urgency_proba = self.model.predict_proba(texts)
        return [
            Prediction(
                topic=self.model.topic_labels[int(np.argmax(tp))],
                urgency=self.model.urgency_labels[int(np.argmax(up))],
                topic_probabilities={label: float(p) for label, p in zip(self.model.topic_labels, tp, strict=True)},
                urgency_probabilities={label: float(p) for label, p in zip(self.model.urgency_labels, up, strict=True)},
                model_version=self.version,
            )
            for tp, up in zip(topic_proba, urgency_proba, strict=True)
        ]
