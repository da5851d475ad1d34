"""Train flow: fit a model on the corpus, fit its decision policy, evaluate it, log it to MLflow, register it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from prefect import flow, get_run_logger, task

from models import tracking
from models.model_card import CARD_FILE, ModelCardFacts, render
from models.train import train_and_evaluate, write_artifacts
from pipeline.config import TrainingConfig, load_taxonomy, load_training
from pipeline.corpus import SPLITS, CorpusItem, load_items, load_split, write_jsonl
from pipeline.feedback import FROM_CASE_STORE, FROM_FILE, NO_FEEDBACK, FeedbackMerge, as_items, merge_feedback, store_corrections
from pipeline.red_flags import RedFlagMatcher, load_red_flags


def _with_feedback(config: TrainingConfig, feedback: Sequence[CorpusItem], workspace: Path
                   ) -> tuple[TrainingConfig, FeedbackMerge]:
    """A corpus folder whose train split also holds the handler feedback (each added or relabelled item
    `config.feedback.weight` times); dev and test are copied unchanged."""
    source = config.corpus_path()
    held_out = load_split(source, "dev") + load_split(source, "test")
    merge = merge_feedback(load_split(source, "train"), feedback, held_out, weight=config.feedback.weight)
    corpus = workspace / "corpus"
    write_jsonl(corpus / "train.jsonl", (item.model_dump() for item in merge.train))
    for split in ("dev", "test"):
        shutil.copyfile(source / f"{split}.jsonl", corpus / f"{split}.jsonl")
    return config.model_copy(update={"corpus_dir": corpus}), merge


@task
def train_and_register(config_dir: str, tracking_uri: str, artifact_root: str, alias: str | None, model_cache: str,
                       model_kind: str | None, feedback_path: str | None = None) -> dict:
    config = load_training(Path(config_dir))
    if model_kind:
        config = config.model_copy(update={"model_kind": model_kind})
    taxonomy = load_taxonomy(Path(config_dir))
    red_flags = RedFlagMatcher.from_config(load_red_flags(Path(config_dir)))
    feedback: list[CorpusItem] = []
    source, recent = NO_FEEDBACK, 0
    if feedback_path:
        feedback, source = load_items(Path(feedback_path)), FROM_FILE
    elif config.feedback.from_case_store:
        older, newer = store_corrections(Path(config_dir), config.feedback.holdout_days)
        feedback, recent = as_items(older), len(newer)
        if older or newer:
            source = FROM_CASE_STORE
            get_run_logger().info("case store: %d correction(s) to train on, %d of the last %d days kept out for "
                                  "promotion", len(feedback), recent, config.feedback.holdout_days)
    with tempfile.TemporaryDirectory() as workspace:
        feedback_params: dict[str, object] = {
            "feedback_source": source, "feedback_weight": config.feedback.weight, "feedback_added": 0,
            "feedback_relabelled": 0, "feedback_held_out_overlap": 0, "feedback_in_holdout": recent}
        feedback_cases = 0
        # With nothing to add, the corpus is trained on as it is (the same files, the same dataset hash).
        if feedback:
            config, merge = _with_feedback(config, feedback, Path(workspace))
            feedback_cases = merge.added + merge.relabelled
            feedback_params.update({"feedback_added": merge.added, "feedback_relabelled": merge.relabelled,
                                    "feedback_held_out_overlap": merge.held_out_overlap})
        result = train_and_evaluate(config, red_flags, Path(model_cache), taxonomy, progress=get_run_logger().info)
        tracking.configure(tracking_uri, config.experiment, Path(artifact_root))
        corpus_dir = config.corpus_path()
        folder = Path(workspace) / "evaluation"
        # The hash covers the train split as trained on, feedback included.
        registered = tracking.log_and_register(
            result.classifier,
            model_name=config.registered_model,
            params={**result.params, "train_size": result.train_size, "taxonomy_version": taxonomy.version,
                    **feedback_params},
            metrics=result.metrics,
            dataset_files=[corpus_dir / f"{split}.jsonl" for split in SPLITS] + list(config.external_paths().values()),
            artifacts=write_artifacts(result, taxonomy.topic_codes, folder),
            alias=None,
        )
    name, version = registered.model_name, registered.version
    tags = tracking.run_tags(registered.run_id)
    card = render(ModelCardFacts(
        model_name=name, version=version, run_id=registered.run_id, model_kind=config.model_kind,
        git_commit=tags.get("git_commit", "unknown"), dataset_hash=tags.get("dataset_hash", "unknown"),
        dataset_files=[f"{split}.jsonl" for split in SPLITS] + [p.name for p in config.external_paths().values()],
        train_size=result.train_size, taxonomy_version=taxonomy.version,
        red_flags_version=red_flags.version, metrics=result.metrics,
        evaluation_sets=["dev", "test", *config.external_sets],
        target_precision=config.policy.target_precision, akut_target_recall=config.policy.akut_target_recall,
        feedback_cases=feedback_cases,
    ))
    tracking.attach_model_card(name, version, registered.run_id, card, CARD_FILE)
    # The very first model has nothing to be compared against: it routes until a challenger beats it.
    if alias == tracking.CHAMPION or (alias == tracking.CHALLENGER and tracking.alias_version(name, tracking.CHAMPION) is None):
        alias = tracking.CHAMPION
        tracking.make_champion(name, version)
    elif alias:
        tracking.set_alias(name, alias, version)
    return {"run_id": registered.run_id, "model": name, "version": version, "alias": alias, "metrics": result.metrics}


@flow(name="train")
def train_flow(config_dir: str, tracking_uri: str, artifact_root: str, model_cache: str,
               alias: str | None = tracking.CHALLENGER, model_kind: str | None = None,
               feedback_path: str | None = None) -> dict:
    summary = train_and_register(config_dir, tracking_uri, artifact_root, alias, model_cache, model_kind, feedback_path)
    get_run_logger().info("registered %s version %s (run %s)", summary["model"], summary["version"], summary["run_id"])
    return summary
