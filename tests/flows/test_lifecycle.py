"""Train -> promote -> triage with shadow mode -> monitor -> rollback, as Prefect flows on a tiny model."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from flows.monitor import monitor_flow
from flows.promote import promote_flow
from flows.train import train_flow
from flows.triage import triage_flow
from models import tracking
from models.model_card import CARD_FILE
from pipeline.corpus import load_split
from pipeline.domain import Channel, Inquiry
from pipeline.store import StoredMessage, open_store
from tests.conftest import CORPUS_DIR
from tests.flows.conftest import write_tiny_configs

pytestmark = pytest.mark.slow
NAME = "life-triage"


def _ingest(store_url: str, start: int, count: int) -> None:
    items = load_split(CORPUS_DIR, "dev")[start:start + count]
    store = open_store(store_url)
    store.add_messages(
        StoredMessage(Inquiry(id=f"case-{start + n}", source="test", channel=Channel(i.channel),
                              received_at=datetime.now(UTC), subject=i.subject, body=i.body),
                      external_id=f"ext-{start + n}", raw_sender=None, raw_subject=i.subject, raw_body=i.body)
        for n, i in enumerate(items))
    store.dispose()


def _operation_runs(operation: str) -> list:
    runs = mlflow.search_runs(experiment_names=[NAME + tracking.OPERATIONS_SUFFIX],
                              filter_string=f"tags.operation = '{operation}'", output_format="list")
    return runs


def test_train_promote_triage_monitor_rollback(prefect_harness, lifecycle_env, tmp_path):
    env = lifecycle_env
    train_args = (env["config_dir"], env["tracking_uri"], env["artifact_root"], env["model_cache"])

    first = train_flow(*train_args)
    assert (first["version"], first["alias"]) == ("1", tracking.CHAMPION)  # nothing to beat yet
    client = MlflowClient()
    card = tracking.model_card_text(NAME, "1", CARD_FILE)
    dataset_hash = tracking.run_tags(first["run_id"])["dataset_hash"]
    assert f"`{dataset_hash}`" in card and "## Human oversight" in card
    assert client.get_model_version(NAME, "1").description == card

    nothing = promote_flow(env["config_dir"], env["tracking_uri"], env["artifact_root"])
    assert nothing["skipped"] == "life-triage has no @challenger; `triage train` registers one"

    # Handler feedback joins training, except text the frozen test split holds. This feedback only repeats
    # train labels (and test text), so the challenger is the champion's twin and agreement below is exact.
    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text("".join(i.model_dump_json() + "\n" for i in load_split(CORPUS_DIR, "train")[:5]
                                + load_split(CORPUS_DIR, "test")[:3]), encoding="utf-8")
    second = train_flow(*train_args, feedback_path=str(feedback))
    assert (second["version"], second["alias"]) == ("2", tracking.CHALLENGER)
    run_params = MlflowClient().get_run(second["run_id"]).data.params
    assert (run_params["feedback_added"], run_params["feedback_relabelled"], run_params["feedback_held_out_overlap"]) \
        == ("0", "0", "3")
    assert tracking.alias_version(NAME, tracking.CHAMPION) == "1"

    # The champion routes; the challenger classifies the same cases in shadow mode and routes nothing.
    _ingest(env["store_url"], 0, 40)
    champion_uri = f"models:/{NAME}@champion"
    report = triage_flow(env["store_url"], champion_uri, env["tracking_uri"], env["config_dir"], "solvik",
                         artifact_root=env["artifact_root"])
    assert report.routed == 40
    assert "challenger life-triage/2 vs champion life-triage/1 on 40 cases" in report.shadow
    # Same recipe, same data: the retrained model agrees with the champion on every case.
    assert "topic agreement 100.0%" in report.shadow
    shadow_runs = _operation_runs("shadow")
    assert len(shadow_runs) == 1 and shadow_runs[0].data.metrics["shadow_cases"] == 40
    store = open_store(env["store_url"])
    assert {c.prediction.model_version for q in store.queue_counts() for c in store.list_queue(q.queue, 100)} == {
        f"{NAME}/1"}
    store.dispose()

    outcome = promote_flow(env["config_dir"], env["tracking_uri"], env["artifact_root"])
    assert outcome["promote"], outcome["reason"]
    assert tracking.alias_version(NAME, tracking.CHAMPION) == "2"
    assert tracking.alias_version(NAME, tracking.CHALLENGER) is None
    tags = tracking.version_tags(NAME, "2")
    assert tags["promotion_decision"] == "promoted" and tags["promotion_compared_to"] == "1"
    assert "topic macro-F1 on test" in tags["promotion_reason"]
    promotion_run = _operation_runs("promotion")[0]
    assert promotion_run.data.params["decision"] == "promoted"
    assert promotion_run.data.metrics["challenger_test_topic_macro_f1"] == promotion_run.data.metrics[
        "champion_test_topic_macro_f1"]

    # New cases are routed by the new champion; with no challenger left there is no shadow.
    _ingest(env["store_url"], 40, 20)
    report = triage_flow(env["store_url"], champion_uri, env["tracking_uri"], env["config_dir"], "solvik",
                         artifact_root=env["artifact_root"])
    assert report.routed == 20 and report.shadow is None

    monitor = monitor_flow(env["store_url"], env["config_dir"], env["tracking_uri"], "solvik", 1.0,
                           env["artifact_root"])
    assert monitor.cases == 60
    assert 0 <= monitor.manual_share <= 1 and monitor.topic_psi >= 0
    monitor_run = _operation_runs("monitor")[0]
    assert monitor_run.data.metrics["monitor_cases"] == 60
    assert monitor_run.data.metrics["topic_psi"] == pytest.approx(monitor.topic_psi)
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as prefect_client:
        monitor_artifacts, shadow_artifacts = (
            prefect_client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
            for key in ("monitor-report", "shadow"))
    assert any("topic drift (PSI)" in str(a.data) for a in monitor_artifacts)
    assert any("life-triage/2 vs champion life-triage/1" in str(a.data) for a in shadow_artifacts)

    assert tracking.roll_back_champion(NAME, "test") == ("2", "1")
    assert tracking.alias_version(NAME, tracking.CHAMPION) == "1"
    assert tracking.version_tags(NAME, "2")["rolled_back"] == "test"
    with pytest.raises(tracking.NoModelError, match="no earlier champion"):
        tracking.roll_back_champion(NAME, "again")

    # A stricter gate rejects the same challenger, and says why; the champion stays.
    tracking.set_alias(NAME, tracking.CHALLENGER, "2")
    strict = write_tiny_configs(Path(tmp_path / "strict"), NAME, min_akut_recall=1.0)
    outcome = promote_flow(str(strict), env["tracking_uri"], env["artifact_root"])
    assert outcome["metrics"]["challenger_test_akut_recall"] < 1.0
    assert not outcome["promote"] and "akut recall" in outcome["reason"]
    assert tracking.alias_version(NAME, tracking.CHAMPION) == "1"
    assert tracking.version_tags(NAME, "2")["promotion_decision"] == "rejected"
