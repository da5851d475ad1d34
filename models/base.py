"""The interface every inquiry classifier offers, whatever the model kind behind it.

A classifier is a text model (raw class probabilities) plus the decision policy fitted on dev (calibration,
per-topic thresholds, akut threshold) and the red-flag rules; all three travel together in the registered
model, so whoever loads it classifies exactly as it was evaluated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from models.calibration import DecisionPolicy
from models.familiarity import FamiliarityIndex
from pipeline.domain import Prediction
from pipeline.language import detect_language
from pipeline.preprocess import prepare_text
from pipeline.red_flags import RedFlagMatcher, apply_red_flags


class InquiryText(NamedTuple):
    """The raw fields of an inquiry that a classifier reads, and its language when ingestion already named it."""

    channel: str
    subject: str | None
    body: str
    language: str | None = None


class TextModel(Protocol):
    """A fitted model that gives class probabilities for prepared texts, one matrix per head."""

    topic_labels: list[str]
    urgency_labels: list[str]

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]: ...


def component_models(model: TextModel) -> list[TextModel]:
    """The fitted models behind `model`: an ensemble's members, or the model itself."""
    return list(getattr(model, "members", [model]))


@dataclass
class InquiryClassifier:
    """Raw inquiries in, predictions out: shared text preparation, model, decision policy, red flags."""

    model: TextModel
    version: str
    policy: DecisionPolicy | None = None
    red_flags: RedFlagMatcher | None = None
    # Similarity to the training texts, for the policy's guard against unfamiliar text.
    familiarity: FamiliarityIndex | None = None

    def model_outputs(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Raw (topic, urgency) probabilities of prepared texts, and each ensemble member's top topic index
        (members x texts) when the policy asks for member agreement, else None. One pass of every member."""
        per_member = getattr(self.model, "predict_member_proba", None)
        if self.policy is None or not self.policy.review_on_member_disagreement or per_member is None:
            return *self.model.predict_proba(texts), None
        member_proba = per_member(texts)
        topic_proba, urgency_proba = self.model.combine(member_proba)  # type: ignore[attr-defined]
        return topic_proba, urgency_proba, np.stack([np.argmax(topic, axis=1) for topic, _ in member_proba])

    def predict(self, inquiries: Sequence[InquiryText]) -> list[Prediction]:
        if not inquiries:
            return []
        texts = [prepare_text(i.channel, i.subject, i.body) for i in inquiries]
        languages = [i.language or detect_language(f"{i.subject or ''}\n{i.body}") for i in inquiries]
        topic_proba, urgency_proba, member_topics = self.model_outputs(texts)
        if self.policy is None:
            predictions = [self._argmax_prediction(tp, up, language)
                           for tp, up, language in zip(topic_proba, urgency_proba, languages, strict=True)]
        else:
            predictions = [
                Prediction(
                    topic=decision.topic,
                    urgency=decision.urgency,
                    topic_probabilities=decision.topic_probabilities,
                    urgency_probabilities=decision.urgency_probabilities,
                    model_version=self.version,
                    needs_review=decision.needs_review,
                    review_reasons=list(decision.review_reasons),
                    language=language,
                )
                for decision, language in zip(self.policy.decide(
                    topic_proba, urgency_proba, member_topics=member_topics, languages=languages,
                    familiarity=self.familiarity.similarity(texts) if self.familiarity is not None else None),
                    languages, strict=True)
            ]
        if self.red_flags is None:
            return predictions
        return [self._with_red_flags(text, p) for text, p in zip(texts, predictions, strict=True)]

    def _with_red_flags(self, text: str, prediction: Prediction) -> Prediction:
        """Red flags may raise urgency, never lower it; every hit goes into the trace."""
        hits = self.red_flags.scan(text, prediction.language) if self.red_flags else []
        if not hits:
            return prediction
        urgency, trace = apply_red_flags(prediction.urgency, hits)
        alerts = sorted({hit.alert for hit in hits if hit.alert})
        return prediction.model_copy(update={"urgency": urgency, "red_flags": trace, "alerts": alerts})

    def _argmax_prediction(self, topic_row: np.ndarray, urgency_row: np.ndarray, language: str) -> Prediction:
        return Prediction(
            topic=self.model.topic_labels[int(np.argmax(topic_row))],
            urgency=self.model.urgency_labels[int(np.argmax(urgency_row))],
            topic_probabilities={label: float(p) for label, p in zip(self.model.topic_labels, topic_row, strict=True)},
            urgency_probabilities={label: float(p) for label, p in zip(self.model.urgency_labels, urgency_row, strict=True)},
            model_version=self.version,
            language=language,
        )
