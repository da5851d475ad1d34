"""Training of a model kind on the corpus' train split: the decision policy is fitted on dev, and the same
evaluation runs on dev, test and every external set."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from models.base import InquiryClassifier, InquiryText, TextModel, component_models
from models.baseline import TfidfTriageModel
from models.calibration import fit_policy, policy_report, suggestion_policy
from models.evaluate import confusion_matrix_png, evaluate_items, per_topic_table
from models.familiarity import FamiliarityIndex
from pipeline.config import Taxonomy, TrainingConfig
from pipeline.corpus import CorpusItem, load_split
from pipeline.external import load_external
from pipeline.preprocess import prepare_text
from pipeline.red_flags import RedFlagMatcher


@dataclass
class TrainingResult:
    classifier: InquiryClassifier
    metrics: dict[str, float]
    params: dict[str, object]
    train_size: int
    # Per evaluation set: (true topics, predicted topics), for the per-topic table and confusion matrix.
    topic_pairs: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)


def as_inquiry_texts(items: list[CorpusItem]) -> list[InquiryText]:
    return [InquiryText(i.channel, i.subject, i.body) for i in items]


def prepared_texts(items: list[CorpusItem]) -> list[str]:
    return [prepare_text(i.channel, i.subject, i.body) for i in items]


def fit_model(config: TrainingConfig, train: list[CorpusItem], model_cache: Path | None = None, *,
              dev: list[CorpusItem] | None = None, taxonomy: Taxonomy | None = None,
              progress: Callable[[str], None] | None = None) -> TextModel:
    """Fit the configured model kind on train. The e5 kinds need the model cache for the encoder; `e5-finetune`
    stops early on dev; `zero-shot` reads no labels, only the taxonomy's descriptions."""
    texts, topics, urgencies = prepared_texts(train), [i.topic for i in train], [i.urgency for i in train]
    if config.model_kind == "ensemble":
        from models.ensemble import EnsembleModel

        members = [fit_model(config.model_copy(update={"model_kind": kind}), train, model_cache, dev=dev,
                             taxonomy=taxonomy, progress=progress) for kind in config.ensemble.members]
        return EnsembleModel(members, config.ensemble.weights)
    if config.model_kind == "tfidf":
        return TfidfTriageModel(config.tfidf, seed=config.seed).fit(texts, topics, urgencies)
    if model_cache is None:
        raise ValueError(f"model kind {config.model_kind} needs a model cache directory")
    from models.encoder import SentenceEncoder
    from models.provision import checkpoint_identity, encoder_key, prepare_base_model

    params = config.encoder
    base = prepare_base_model(params, model_cache, config.corpus_path())
    if config.model_kind == "e5-finetune":
        from models.e5_finetune import LabelledTexts, finetune

        if dev is None:
            raise ValueError("e5-finetune needs the dev split for early stopping")
        # Everything that shapes the fine-tune, and nothing that only shapes inference (quantisation, serving length).
        key = hashlib.sha256(json.dumps([checkpoint_identity(base), params.prefix, config.e5_finetune.model_dump(),
                                         config.seed, texts, topics, urgencies]).encode()).hexdigest()[:16]
        return finetune(base, model_cache / "finetuned" / key, LabelledTexts(texts, topics, urgencies),
                        LabelledTexts(prepared_texts(dev), [i.topic for i in dev], [i.urgency for i in dev]),
                        config.e5_finetune, prefix=params.prefix, quantize=params.quantize, bfloat16=params.bfloat16,
                        inference_max_length=params.max_length, inference_batch_size=params.batch_size,
                        seed=config.seed, progress=progress and (lambda record: progress(f"fine-tuning: {record}")))
    encoder = SentenceEncoder(base, quantize=params.quantize, bfloat16=params.bfloat16, max_length=params.max_length,
                              batch_size=params.batch_size, prefix=params.prefix)
    if config.model_kind == "zero-shot":
        from models.zero_shot import ZeroShotModel

        if taxonomy is None:
            raise ValueError("zero-shot needs the taxonomy")
        return ZeroShotModel(encoder, taxonomy)
    from models.e5_head import EmbeddingCache, EmbeddingHeadModel

    cache = EmbeddingCache(model_cache / "embeddings", encoder_key(params, base))
    return EmbeddingHeadModel(encoder, config.e5_head, seed=config.seed, cache=cache).fit(texts, topics, urgencies)


def evaluation_sets(config: TrainingConfig) -> tuple[dict[str, list[CorpusItem]], dict[str, int]]:
    """The sets every model is scored on: dev and test of the corpus, then each external set with text here;
    and per external set, how many of its records have no text on this machine (see pipeline/external.py)."""
    corpus_dir = config.corpus_path()
    sets = {split: load_split(corpus_dir, split) for split in ("dev", "test")}
    missing = {}
    for name, path in config.external_paths().items():
        external = load_external(path)
        missing[name] = external.missing
        if external.items:
            sets[name] = external.items
    return sets, missing


def served_languages(dev: list[CorpusItem], min_support: int) -> tuple[str, ...]:
    """The languages with at least `min_support` dev items: the ones the policy's calibration has seen enough
    of to be trusted. A language added to the corpus is served once dev holds enough of it."""
    counts = Counter(item.lang for item in dev)
    return tuple(sorted(language for language, n in counts.items() if n >= min_support))


def build_classifier(config: TrainingConfig, model: TextModel, train: list[CorpusItem], dev: list[CorpusItem],
                     red_flags: RedFlagMatcher | None) -> tuple[InquiryClassifier, dict[str, float]]:
    """Wrap a fitted model with the decision policy fitted on dev; returns it and the policy's dev report.
    The guard against unfamiliar text indexes the train texts, and its floor is the dev similarity quantile
    the config names. The zero-shot kind, meant for a municipality without labels, fits nothing: it only suggests."""
    if config.model_kind == "zero-shot":
        policy = suggestion_policy(model.topic_labels, model.urgency_labels)
        return InquiryClassifier(model, version="candidate", policy=policy, red_flags=red_flags), {}
    dev_texts = prepared_texts(dev)
    topic_proba, urgency_proba = model.predict_proba(dev_texts)
    params = config.policy
    policy, report = fit_policy(
        topic_proba, [i.topic for i in dev], urgency_proba, [i.urgency for i in dev],
        model.topic_labels, model.urgency_labels,
        target_precision=params.target_precision, target_recall=params.akut_target_recall,
        method=params.calibration, min_support=params.threshold_min_support,
    )
    familiarity = None
    if params.unfamiliar_quantile is not None:
        familiarity = FamiliarityIndex().fit(prepared_texts(train))
        floor = float(np.quantile(familiarity.similarity(dev_texts), params.unfamiliar_quantile))
        policy = replace(policy, min_familiarity=floor)
        report["min_familiarity"] = floor
    policy = replace(policy, review_on_member_disagreement=params.review_on_member_disagreement,
                     served_languages=served_languages(dev, params.threshold_min_support))
    return InquiryClassifier(model, version="candidate", policy=policy, red_flags=red_flags,
                             familiarity=familiarity), report


def train_and_evaluate(config: TrainingConfig, red_flags: RedFlagMatcher | None = None,
                       model_cache: Path | None = None, taxonomy: Taxonomy | None = None,
                       progress: Callable[[str], None] | None = None) -> TrainingResult:
    """Fit on train, fit the policy on dev, and score every evaluation set (metrics prefixed by set name)."""
    train = load_split(config.corpus_path(), "train")
    sets, missing_texts = evaluation_sets(config)
    started = time.perf_counter()
    model = fit_model(config, train, model_cache, dev=sets["dev"], taxonomy=taxonomy, progress=progress)
    fit_seconds = time.perf_counter() - started
    classifier, dev_policy = build_classifier(config, model, train, sets["dev"], red_flags)

    metrics: dict[str, float] = {"train_seconds": fit_seconds}
    metrics.update({f"{name}_n_missing_text": float(n) for name, n in missing_texts.items() if n})
    history = next((m.history for m in component_models(model) if getattr(m, "history", None)), None)
    if history:  # e5-finetune's epochs
        metrics["finetune_epochs"] = float(len(history))
        metrics["finetune_best_epoch"] = float(max(history, key=lambda record: record.score).epoch)
    metrics.update({f"dev_policy_{name}": value for name, value in dev_policy.items()})
    pairs: dict[str, tuple[list[str], list[str]]] = {}
    for name, items in sets.items():
        predictions = classifier.predict(as_inquiry_texts(items))
        metrics.update({f"{name}_{metric}": value for metric, value in evaluate_items(items, predictions).items()})
        pairs[name] = ([i.topic for i in items], [p.topic for p in predictions])
        if name == "test":
            topic_proba, urgency_proba = model.predict_proba(prepared_texts(items))
            assert classifier.policy is not None
            report = policy_report(classifier.policy, topic_proba, _indices(items, "topic", model.topic_labels),
                                   urgency_proba, _indices(items, "urgency", model.urgency_labels))
            metrics.update({f"test_policy_{metric}": value for metric, value in report.items()})
    for member in component_models(model):
        if hasattr(member, "cache"):
            member.cache = None  # the registered model encodes afresh; the training cache stays on this machine
    # Throughput of the whole classifier (preparation, model, policy, red flags) as it will be served.
    started = time.perf_counter()
    classifier.predict(as_inquiry_texts(sets["test"]))
    metrics["test_throughput_per_s"] = len(sets["test"]) / (time.perf_counter() - started)
    params = {"model_kind": config.model_kind, "seed": config.seed, **config.model_params(),
              **{f"policy_{k}": v for k, v in config.policy.model_dump().items()},
              "red_flags_version": red_flags.version if red_flags else "none"}
    return TrainingResult(classifier=classifier, metrics=metrics, params=params, train_size=len(train),
                          topic_pairs=pairs)


def _indices(items: list[CorpusItem], attribute: str, labels: list[str]) -> np.ndarray:
    position = {label: n for n, label in enumerate(labels)}
    return np.array([position[getattr(i, attribute)] for i in items])


def write_artifacts(result: TrainingResult, topic_labels: list[str], folder: Path) -> list[Path]:
    """Evaluation artifacts of a run: per-topic scores and a confusion matrix per set, and the fitted policy."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (truth, predicted) in result.topic_pairs.items():
        table = folder / f"{name}_per_topic.json"
        table.write_text(json.dumps(per_topic_table(truth, predicted, topic_labels), indent=1), encoding="utf-8")
        written += [table, confusion_matrix_png(truth, predicted, topic_labels, folder / f"{name}_confusion.png",
                                                f"Topic confusion on {name} ({len(truth)} inquiries)")]
    policy = result.classifier.policy
    if policy is not None:
        summary = {"topic_thresholds": policy.topic_thresholds, "min_margin": policy.min_margin,
                   "akut_threshold": policy.akut_threshold, "target_precision": policy.target_precision,
                   "target_recall": policy.target_recall}
        path = folder / "policy.json"
        path.write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
        written.append(path)
    return written
