"""Training of a model kind on the corpus' train split, evaluated on dev, test and the external sets."""

from __future__ import annotations

from dataclasses import dataclass

from models.base import InquiryClassifier, InquiryText
from models.baseline import TfidfTriageModel
from models.evaluate import evaluate
from pipeline.config import TrainingConfig
from pipeline.corpus import CorpusItem, load_items, load_split
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


def score(classifier: InquiryClassifier, items: list[CorpusItem], prefix: str) -> dict[str, float]:
    predictions = classifier.predict(as_inquiry_texts(items))
    metrics = evaluate(predictions, [i.topic for i in items], [i.urgency for i in items])
    return {f"{prefix}_{name}": value for name, value in metrics.items()}


def evaluation_sets(config: TrainingConfig) -> dict[str, list[CorpusItem]]:
    """The sets every model is scored on: dev and test of the corpus, then each external set."""
    corpus_dir = config.corpus_path()
    sets = {split: load_split(corpus_dir, split) for split in ("dev", "test")}
    sets.update({name: load_items(path) for name, path in config.external_paths().items()})
    return sets


def train_and_evaluate(config: TrainingConfig) -> TrainingResult:
    """Fit on train; report every metric on each evaluation set, prefixed with the set's name."""
    train = load_split(config.corpus_path(), "train")
    model = fit_model(config, train)
    classifier = InquiryClassifier(model, version="candidate")
    metrics: dict[str, float] = {}
    for name, items in evaluation_sets(config).items():
        metrics.update(score(classifier, items, name))
    params = {"model_kind": config.model_kind, "seed": config.seed, **config.tfidf.model_dump()}
    return TrainingResult(model=model, metrics=metrics, params=params, train_size=len(train))
