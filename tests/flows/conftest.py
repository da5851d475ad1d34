"""Fixtures for the lifecycle flow tests: small configs and an empty case store with MLflow under tmp."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import tracking
from tests.conftest import CORPUS_DIR
from tests.conftest import write_tiny_configs as write_configs

TINY_MODEL = "tiny-triage"


def write_tiny_configs(target: Path, name: str, **promotion: float) -> Path:
    """The shipped configs with the smallest useful TF-IDF, their own registered model and promotion limits."""
    return write_configs(target, tfidf={"max_features": 3000, "C": 2.0}, registered_model=name, experiment=name,
                         promotion=promotion)


@pytest.fixture
def lifecycle_env(tmp_path, monkeypatch) -> dict[str, str]:
    var = tmp_path / "var"
    var.mkdir()
    # The train and promote flows read handlers' corrections from the environment's case store: this one.
    monkeypatch.setenv("TRIAGE_DATABASE_URL", f"sqlite:///{var / 'cases.db'}")
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
