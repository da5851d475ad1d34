"""MLflow: the one module that talks to tracking and the model registry.

Every training run is logged here, registered under one model name, and promoted by moving an alias."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from models.base import InquiryClassifier, InquiryText, component_models
from pipeline.config import REPO_ROOT

CHAMPION = "champion"


class NoModelError(LookupError):
    """No registered model answers the requested URI; the message says how to get one."""


class TriagePyfunc(mlflow.pyfunc.PythonModel):
    """Registered form of every model kind: raw inquiries (channel, subject, body) in, predictions out.
    The artifact is the whole classifier: text preparation, model, decision policy and red-flag rules; the
    transformer kinds also bundle their encoder checkpoint, so a registered version needs nothing else."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.classifier: InquiryClassifier = joblib.load(context.artifacts["model"])
        self.classifier.version = f"run:{context.model_config.get('run_id', '?')}"
        # The transformer kinds serve the checkpoints bundled with them.
        for n, encoder in enumerate(encoders_of(self.classifier)):
            encoder.model_dir = Path(context.artifacts[f"encoder{n}"])

    def predict(self, context: mlflow.pyfunc.PythonModelContext, model_input: pd.DataFrame,
                params: dict | None = None) -> pd.DataFrame:
        inquiries = [
            InquiryText(str(row.channel), None if pd.isna(row.subject) else str(row.subject), str(row.body))
            for row in model_input.itertuples(index=False)
        ]
        predictions = self.classifier.predict(inquiries)
        return pd.DataFrame({
            "topic": [p.topic for p in predictions],
            "urgency": [p.urgency for p in predictions],
            "topic_confidence": [p.topic_confidence for p in predictions],
            "urgency_confidence": [p.urgency_confidence for p in predictions],
            "needs_review": [p.needs_review for p in predictions],
        })


def encoders_of(classifier: InquiryClassifier) -> list[Any]:
    """The sentence encoders a classifier's model reads through (an ensemble's members included), in order."""
    models = component_models(classifier.model)
    return [m.encoder for m in models if getattr(m, "encoder", None) is not None]


@dataclass(frozen=True)
class RegisteredRun:
    run_id: str
    model_name: str
    version: str


def configure_uri(tracking_uri: str) -> None:
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(tracking_uri)


def configure(tracking_uri: str, experiment: str, artifact_root: Path) -> str:
    """Point MLflow at the tracking store and make sure the experiment exists; returns its id."""
    configure_uri(tracking_uri)
    existing = mlflow.get_experiment_by_name(experiment)
    if existing is not None:
        experiment_id = existing.experiment_id
    else:
        artifact_root.mkdir(parents=True, exist_ok=True)
        experiment_id = mlflow.create_experiment(experiment, artifact_location=artifact_root.resolve().as_uri())
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def file_hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def git_commit() -> str:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() or "unknown"


def log_and_register(
    classifier: InquiryClassifier,
    *,
    model_name: str,
    params: dict[str, object],
    metrics: dict[str, float],
    dataset_files: list[Path],
    artifacts: list[Path] = (),
    alias: str | None = CHAMPION,
) -> RegisteredRun:
    """Log one training run (params, metrics, dataset hash, git commit, evaluation artifacts, the classifier) and
    register it. With `alias`, the new version takes that alias (the demo makes its first model the champion)."""
    example = pd.DataFrame({"channel": ["email"], "subject": ["Sophämtning"], "body": ["Soporna hämtades inte i dag."]})
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.log_params(params)
        mlflow.log_metrics({name: value for name, value in metrics.items() if value == value})  # NaN is no metric
        for path in artifacts:
            mlflow.log_artifact(str(path), artifact_path="evaluation")
        mlflow.set_tags({"dataset_hash": file_hash(dataset_files), "git_commit": git_commit(),
                         "model_kind": str(params.get("model_kind", "?"))})
        model_path = Path(tmp) / "model.joblib"
        joblib.dump(classifier, model_path)
        wrapper = TriagePyfunc()
        wrapper.classifier = classifier
        signature = infer_signature(example, wrapper.predict(None, example))  # type: ignore[arg-type]
        bundled = {"model": str(model_path)}
        bundled.update({f"encoder{n}": str(encoder.model_dir) for n, encoder in enumerate(encoders_of(classifier))})
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=TriagePyfunc(),
            artifacts=bundled,
            signature=signature,
            input_example=example,
            model_config={"run_id": run.info.run_id},
            pip_requirements=["kommun-triage", f"scikit-learn=={_version('sklearn')}", f"mlflow=={mlflow.__version__}"],
            registered_model_name=model_name,
        )
    version = str(info.registered_model_version)
    if alias:
        MlflowClient().set_registered_model_alias(model_name, alias, version)
    return RegisteredRun(run_id=run.info.run_id, model_name=model_name, version=version)


def _version(module: str) -> str:
    return __import__(module).__version__


def load_classifier(model_uri: str) -> InquiryClassifier:
    """Load a registered or logged model as a classifier, e.g. 'models:/kommun-triage@champion'."""
    version_label = model_uri
    try:
        if model_uri.startswith("models:/") and "@" in model_uri:
            name, alias = model_uri.removeprefix("models:/").split("@", 1)
            version = MlflowClient().get_model_version_by_alias(name, alias)
            model_uri = f"models:/{name}/{version.version}"
            version_label = f"{name}/{version.version}"
        elif model_uri.startswith("models:/"):
            version_label = model_uri.removeprefix("models:/")
        loaded = mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as exc:
        raise NoModelError(f"no model at {model_uri} ({str(exc).splitlines()[0]})") from exc
    classifier: InquiryClassifier = loaded.unwrap_python_model().classifier
    classifier.version = version_label
    return classifier


def runs_table(experiment: str, limit: int = 10) -> pd.DataFrame:
    """The most recent runs of an experiment with their main test-split and real-text metrics, newest first.
    `auto` is the share routed without a person (guards included), `auto_prec` the topic precision of those."""
    runs = mlflow.search_runs(experiment_names=[experiment], order_by=["attributes.start_time DESC"],
                              max_results=limit)
    if runs.empty:
        return runs
    columns = {
        "tags.model_kind": "kind",
        "metrics.test_topic_macro_f1": "topic_f1",
        "metrics.test_urgency_macro_f1": "urgency_f1",
        "metrics.test_akut_recall": "akut_rec",
        "metrics.test_akut_precision": "akut_prec",
        "metrics.test_policy_akut_recall_at_precision_0.90": "akut_rec@p90",
        "metrics.test_policy_topic_ece_calibrated": "ece",
        "metrics.test_auto_share": "auto",
        "metrics.test_auto_precision": "auto_prec",
        "metrics.realtext_topic_accuracy": "real_acc",
        "metrics.realtext_auto_share": "real_auto",
        "metrics.realtext_auto_precision": "real_auto_prec",
        "metrics.realtext_topic_ece": "real_ece",
        "metrics.swefaq_topic_macro_f1": "swefaq_f1",
        "metrics.test_throughput_per_s": "per_s",
        "metrics.train_seconds": "train_s",
    }
    table = runs[["run_id", "start_time", *[c for c in columns if c in runs.columns]]].rename(columns=columns)
    table["run_id"] = table["run_id"].str[:8]
    table["start_time"] = table["start_time"].dt.strftime("%Y-%m-%d %H:%M")
    return table.round(3)



# --- champion/challenger, model cards and operational runs --------------------------------------------------

CHALLENGER = "challenger"
CHAMPION_HISTORY_TAG = "champion_history"
# Promotion, shadow and monitor runs go to "<experiment>-operations", apart from the training runs.
OPERATIONS_SUFFIX = "-operations"


def alias_version(model_name: str, alias: str) -> str | None:
    """The version that holds an alias, or None when the alias (or the model) does not exist."""
    try:
        return str(MlflowClient().get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        return None


def set_alias(model_name: str, alias: str, version: str) -> None:
    MlflowClient().set_registered_model_alias(model_name, alias, version)


def drop_alias(model_name: str, alias: str) -> None:
    if alias_version(model_name, alias) is not None:
        MlflowClient().delete_registered_model_alias(model_name, alias)


def champion_history(model_name: str) -> list[str]:
    """Versions that have been champion, oldest first, as kept by `make_champion` and `roll_back_champion`."""
    try:
        tags = MlflowClient().get_registered_model(model_name).tags
    except MlflowException as exc:
        raise NoModelError(f"no registered model {model_name}") from exc
    return [v for v in tags.get(CHAMPION_HISTORY_TAG, "").split(",") if v]


def _with_current_champion(model_name: str) -> list[str]:
    history = champion_history(model_name)
    current = alias_version(model_name, CHAMPION)
    # A champion set by hand (or by an older release) is not in the history yet.
    if current is not None and (not history or history[-1] != current):
        history.append(current)
    return history


def make_champion(model_name: str, version: str) -> None:
    """Move the champion alias to a version and remember the move, so that a rollback can undo it."""
    history = _with_current_champion(model_name)
    if not history or history[-1] != version:
        history.append(version)
    client = MlflowClient()
    client.set_registered_model_alias(model_name, CHAMPION, version)
    client.set_registered_model_tag(model_name, CHAMPION_HISTORY_TAG, ",".join(history))


def roll_back_champion(model_name: str, reason: str) -> tuple[str, str]:
    """Give the champion alias back to the previous champion; returns (from version, to version)."""
    history = _with_current_champion(model_name)
    if len(history) < 2:
        raise NoModelError(f"{model_name} has no earlier champion to roll back to")
    current = history.pop()
    previous = history[-1]
    client = MlflowClient()
    client.set_registered_model_alias(model_name, CHAMPION, previous)
    client.set_registered_model_tag(model_name, CHAMPION_HISTORY_TAG, ",".join(history))
    client.set_model_version_tag(model_name, current, "rolled_back", reason)
    return current, previous


def version_run_id(model_name: str, version: str) -> str:
    return str(MlflowClient().get_model_version(model_name, version).run_id)


def run_tags(run_id: str) -> dict[str, str]:
    return dict(MlflowClient().get_run(run_id).data.tags)


def attach_model_card(model_name: str, version: str, run_id: str, card: str, file_name: str) -> None:
    """Log the model card as an artifact of the version's run and make it the version's description."""
    client = MlflowClient()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / file_name
        path.write_text(card, encoding="utf-8")
        client.log_artifact(run_id, str(path))
    client.update_model_version(model_name, version, description=card)


def model_card_text(model_name: str, version: str, file_name: str) -> str:
    """The model card logged for a registered version."""
    run_id = version_run_id(model_name, version)
    with tempfile.TemporaryDirectory() as tmp:
        return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=file_name, dst_path=tmp)).read_text(
            encoding="utf-8")


def tag_version(model_name: str, version: str, tags: dict[str, str]) -> None:
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(model_name, version, key, value)


def version_tags(model_name: str, version: str) -> dict[str, str]:
    return dict(MlflowClient().get_model_version(model_name, version).tags)


def ensure_experiment(name: str, artifact_root: Path | None) -> str:
    """The id of an experiment, created under the artifact root when missing (the active one is unchanged)."""
    existing = mlflow.get_experiment_by_name(name)
    if existing is not None:
        return str(existing.experiment_id)
    # A tracking server keeps artifacts in its own store; a local path would only exist on this machine.
    if artifact_root is None or mlflow.get_tracking_uri().startswith(("http://", "https://")):
        return str(mlflow.create_experiment(name))
    artifact_root.mkdir(parents=True, exist_ok=True)
    return str(mlflow.create_experiment(name, artifact_location=(artifact_root / name).resolve().as_uri()))


def log_operation_run(experiment: str, artifact_root: Path | None, run_name: str, *, params: dict[str, object],
                      metrics: dict[str, float], tags: dict[str, str], texts: dict[str, str] | None = None) -> str:
    """One run of an operational flow (promotion, shadow, monitor) with its figures and reports; returns its id."""
    experiment_id = ensure_experiment(experiment, artifact_root)
    client = MlflowClient()
    run = client.create_run(experiment_id, run_name=run_name, tags=tags)
    run_id = run.info.run_id
    for key, value in params.items():
        client.log_param(run_id, key, value)
    for key, value in metrics.items():
        if value == value:  # NaN is no metric
            client.log_metric(run_id, key, float(value))
    for file_name, text in (texts or {}).items():
        client.log_text(run_id, text, file_name)
    client.set_terminated(run_id)
    return run_id
