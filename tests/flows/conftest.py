"""Fixtures for the lifecycle flow tests: small configs and an empty case store with MLflow under tmp."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from models import tracking
from tests.conftest import CONFIG_DIR, CORPUS_DIR

TINY_MODEL = "tiny-triage"


def write_tiny_configs(target: Path, name: str, **promotion: float) -> Path:
    """The shipped configs with a small TF-IDF (training takes seconds) and their own registered model."""
    shutil.copytree(CONFIG_DIR, target, dirs_exist_ok=True)
    training = yaml.safe_load((target / "training.yaml").read_text(encoding="utf-8"))
    training.update(corpus_dir=str(CORPUS_DIR), registered_model=name, experiment=name)
    training["tfidf"].update(word_ngram_max=1, char_ngram_min=3, char_ngram_max=4, max_features=3000, C=2.0)
    training["promotion"].update(promotion)
    (target / "training.yaml").write_text(yaml.safe_dump(training), encoding="utf-8")
    return target


@pytest.fixture
def lifecycle_env(tmp_path) -> dict[str, str]:
    var = tmp_path / "var"
    var.mkdir()
    return {
        "config_dir": str(write_tiny_configs(tmp_path / "configs", "life-triage", min_akut_recall=0.5)),
        "tracking_uri": f"sqlite:///{var / 'mlflow.db'}",
        "artifact_root": str(var / "mlartifacts"),
        "model_cache": str(var / "models"),
        "store_url": f"sqlite:///{var / 'cases.db'}",
    }


@pytest.fixture
def registered_tiny(tmp_path, tiny_classifier) -> str:
    """The tiny classifier registered as `tiny-triage` version 1 @champion in a fresh MLflow store; returns
    the tracking URI."""
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking.configure(tracking_uri, TINY_MODEL, tmp_path / "mlartifacts")
    tracking.log_and_register(tiny_classifier, model_name=TINY_MODEL, params={"model_kind": "tfidf"}, metrics={},
                              dataset_files=[CORPUS_DIR / "train.jsonl"], alias=tracking.CHAMPION)
    return tracking_uri
