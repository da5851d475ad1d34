"""Train flow: fit a model on the corpus, evaluate it, log it to MLflow and register it."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from models import tracking
from models.train import train_and_evaluate
from pipeline.config import load_training
from pipeline.corpus import SPLITS


@task
def train_and_register(config_dir: str, tracking_uri: str, artifact_root: str, alias: str | None) -> dict:
    config = load_training(Path(config_dir))
    corpus_dir = config.corpus_path()
    result = train_and_evaluate(config)
    tracking.configure(tracking_uri, config.experiment, Path(artifact_root))
    registered = tracking.log_and_register(
        result.model,
        model_name=config.registered_model,
        params={**result.params, "train_size": result.train_size},
        metrics=result.metrics,
        dataset_files=[corpus_dir / f"{split}.jsonl" for split in SPLITS] + list(config.external_paths().values()),
        alias=alias,
    )
    return {"run_id": registered.run_id, "model": registered.model_name, "version": registered.version,
            "metrics": result.metrics}


@flow(name="train")
def train_flow(config_dir: str, tracking_uri: str, artifact_root: str, alias: str | None = tracking.CHAMPION) -> dict:
    summary = train_and_register(config_dir, tracking_uri, artifact_root, alias)
    get_run_logger().info("registered %s version %s (run %s)", summary["model"], summary["version"], summary["run_id"])
    return summary
