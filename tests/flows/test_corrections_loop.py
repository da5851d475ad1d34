"""The corrections loop: the train flow reads handlers' corrections from the case store by itself, trains on the
older ones (weighted) and keeps the most recent out; the promote flow judges on those recent ones."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from mlflow.tracking import MlflowClient

import flows.train
from flows.promote import promote_flow
from flows.train import train_flow
from pipeline.casework import CaseWork, work_engine
from pipeline.corpus import load_split
from pipeline.store import open_store
from pipeline.users import Role, User
from tests.conftest import CORPUS_DIR, write_tiny_configs
from tests.pipeline.seeding import Seed, seed_cases

pytestmark = pytest.mark.slow
NAME = "loop-triage"
TOVE = User("tove", "Tove", "teknik", Role.HANDLAGGARE)


@pytest.fixture
def loop_env(tmp_path, monkeypatch) -> dict[str, str]:
    var = tmp_path / "var"
    var.mkdir()
    url = f"sqlite:///{var / 'cases.db'}"
    monkeypatch.setenv("TRIAGE_DATABASE_URL", url)
    monkeypatch.setenv("TRIAGE_TENANT", "solvik")
    config_dir = write_tiny_configs(tmp_path / "configs", tfidf={"max_features": 3000, "C": 2.0},
                                    registered_model=NAME, experiment=NAME, promotion={"min_akut_recall": 0.5},
                                    feedback={"weight": 3, "holdout_days": 14, "from_case_store": True})
    return {"config_dir": str(config_dir), "tracking_uri": f"sqlite:///{var / 'mlflow.db'}",
            "artifact_root": str(var / "mlartifacts"), "model_cache": str(var / "models"), "store_url": url}


@pytest.fixture
def trained_on(monkeypatch) -> list[list]:
    """The train split each train flow run fitted on, as the flow handed it to training."""
    seen: list[list] = []
    real = flows.train.train_and_evaluate

    def spy(config, *args, **kwargs):
        seen.append(load_split(config.corpus_path(), "train"))
        return real(config, *args, **kwargs)

    monkeypatch.setattr(flows.train, "train_and_evaluate", spy)
    return seen


def test_train_reads_corrections_from_the_case_store_and_promote_judges_on_the_recent_ones(
        prefect_harness, loop_env, trained_on, tenant):
    env = loop_env
    train_args = (env["config_dir"], env["tracking_uri"], env["artifact_root"], env["model_cache"])
    corpus_train = load_split(CORPUS_DIR, "train")
    now = datetime.now(UTC)
    store = open_store(env["store_url"])
    old_a, old_b, recent, _ = seed_cases(store, tenant, [
        Seed("gata_trafik", body="Snön ligger kvar på cykelbanan vid Ekvägen sedan i lördags.",
             received_at=now - timedelta(days=40)),
        Seed("gata_trafik", body="Det är ett stort hål i asfalten på Kvarngatan, cyklister kör runt det.",
             received_at=now - timedelta(days=30)),
        Seed("gata_trafik", body="Isen på gångbron vid stationen har inte sandats, någon kommer att halka.",
             received_at=now - timedelta(days=2)),
        Seed("gata_trafik", body="Trafikljuset vid torget blinkar gult hela dagen.", received_at=now - timedelta(days=50)),
    ])
    store.dispose()

    # No corrections yet: trained exactly on the corpus.
    first = train_flow(*train_args)
    params = MlflowClient(env["tracking_uri"]).get_run(first["run_id"]).data.params
    assert (params["feedback_source"], params["feedback_added"], params["train_size"]) == (
        "none", "0", str(len(corpus_train)))
    assert trained_on[0] == corpus_train

    work = CaseWork(work_engine(env["store_url"]), tenant)
    tove = work.viewer(TOVE)
    work.reroute(tove, old_a, topic="vinterunderhall")
    work.change_urgency(tove, old_b, "hog")
    work.reroute(tove, recent, topic="vinterunderhall")  # within the 14-day holdout
    records = {r["source"].rsplit(":", 1)[1]: r for r in work.feedback_records()}
    work.engine.dispose()

    second = train_flow(*train_args)
    params = MlflowClient(env["tracking_uri"]).get_run(second["run_id"]).data.params
    assert {key: params[key] for key in ("feedback_source", "feedback_added", "feedback_relabelled",
                                         "feedback_held_out_overlap", "feedback_weight", "feedback_in_holdout")} == {
        "feedback_source": "case store", "feedback_added": "2", "feedback_relabelled": "0",
        "feedback_held_out_overlap": "0", "feedback_weight": "3", "feedback_in_holdout": "1"}
    assert params["train_size"] == str(len(corpus_train) + 2 * 3)
    bodies = Counter(item.body for item in trained_on[1])
    assert bodies[records[old_a]["body"]] == 3 and bodies[records[old_b]["body"]] == 3
    assert records[recent]["body"] not in bodies  # the recent correction was not trained on
    assert {(i.topic, i.urgency) for i in trained_on[1] if i.body == records[old_b]["body"]} == {("gata_trafik", "hog")}

    outcome = promote_flow(env["config_dir"], env["tracking_uri"], env["artifact_root"])
    assert (outcome["feedback_source"], outcome["feedback_cases"]) == ("case store", 1)
    assert "challenger_feedback_n" in outcome["metrics"]
    assert "skipped: only 1 feedback cases (< 20)" in outcome["checks"]
