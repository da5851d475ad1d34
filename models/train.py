"""Training of a model kind on the corpus' train split, evaluated on dev and test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from models.base import InquiryClassifier, InquiryText
from models.baseline import TfidfTriageModel
from models.evaluate import evaluate
from pipeline.config import TrainingConfig
from pipeline.corpus import CorpusItem, load_split
from pipeline.preprocess import prepare_text


@dataclass
class TrainingResult:
    model: TfidfTriageModel
    metrics: dict[str, float]
    params: dict[str, object]
    train_size: int


def as_inquiry_texts(items: list[CorpusItem]) -> list[InquiryText]:
    return [InquiryText(i.channel, i.subject, i.body) for i in items]


def fit_model(config: TrainingConfig, train: list[CorpusItem]) -> TfidfTriageModel:
    texts = [prepare_text(i.channel, i.subject, i.body) for i in train]
    return TfidfTriageModel(config.tfidf, seed=config.seed).fit(
        texts, [i.topic for i in train], [i.urgency for i in train]
    )


def train_and_evaluate(config: TrainingConfig, corpus_dir: Path) -> TrainingResult:
    """Fit on train; report every metric on dev and on test with the prefix of its split."""
    train = load_split(corpus_dir, "train")
    model = fit_model(config, train)
    classifier = InquiryClassifier(model, version="candidate")
    metrics: dict[str, float] = {}
    for split in ("dev", "test"):
        items = load_split(corpus_dir, split)
        predictions = classifier.predict(as_inquiry_texts(items))
        scores = evaluate(predictions, [i.topic for i in items], [i.urgency for i in items])
        metrics.update({f"{split}_{name}": value for name, value in scores.items()})
    params = {"model_kind": config.model_kind, "seed": config.seed, **config.tfidf.model_dump()}
    return TrainingResult(model=model, metrics=metrics, params=params, train_size=len(train))
