"""`triage users add/list` and `triage feedback export` through the CLI, on a case store under a temp data dir."""

import json

from typer.testing import CliRunner

from flows.cli import app
from pipeline.casework import CaseWork, work_engine
from pipeline.corpus import load_items
from pipeline.store import open_store
from pipeline.users import UserDirectory
from tests.pipeline.seeding import Seed, seed_cases

runner = CliRunner()


def test_users_add_hashes_and_validates(data_dir, tenant):
    added = runner.invoke(app, ["users", "add", "tove", "--department", "teknik", "--name", "Tove T", "--password-stdin"],
                          input="ett-langt-losenord\n")
    assert added.exit_code == 0, added.output
    bad = runner.invoke(app, ["users", "add", "bo", "--department", "gatukontoret", "--password-stdin"],
                        input="ett-langt-losenord\n")
    assert bad.exit_code == 2 and "gatukontoret" in bad.output and "teknik" in bad.output
    listed = runner.invoke(app, ["users", "list"])
    assert "tove" in listed.output and "teknik" in listed.output and "bo " not in listed.output
    store = open_store(f"sqlite:///{data_dir / 'cases.db'}")
    assert UserDirectory(store.engine, tenant).authenticate("tove", "ett-langt-losenord").display_name == "Tove T"
    store.dispose()


def test_feedback_export_writes_corrections_as_corpus_records(data_dir, tenant, tmp_path):
    url = f"sqlite:///{data_dir / 'cases.db'}"
    store = open_store(url)
    corrected, _ = seed_cases(store, tenant, [Seed("gata_trafik"), Seed("parkering")])
    UserDirectory(store.engine, tenant).add("tove", "ett-langt-losenord", "teknik", "handlaggare")
    work = CaseWork(work_engine(url), tenant)
    viewer = work.viewer(UserDirectory(store.engine, tenant).get("tove"))
    work.reroute(viewer, corrected, topic="vinterunderhall")
    work.engine.dispose()
    store.dispose()
    out = tmp_path / "feedback.jsonl"
    result = runner.invoke(app, ["feedback", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    [item] = load_items(out)
    assert (item.topic, item.urgency) == ("vinterunderhall", "normal")
    assert json.loads(out.read_text(encoding="utf-8"))["corrected"] == ["topic"]


def test_serve_explains_with_the_models_word_weights_or_says_there_is_none(data_dir, monkeypatch, tiny_classifier):
    from flows.cli import _settings, _word_evidence
    from models import tracking

    monkeypatch.setattr(tracking, "load_classifier", lambda uri: tiny_classifier)
    explain = _word_evidence(_settings(), "models:/test-triage@champion")
    evidence = explain("email", "Sophämtning", "Soptunnan har inte tömts på två veckor", "avfall")
    assert evidence["model_version"] == "test/1" and evidence["terms"] and evidence["terms"][0][1] > 0

    def missing(uri):
        raise tracking.NoModelError(f"no model at {uri}")

    monkeypatch.setattr(tracking, "load_classifier", missing)
    assert _word_evidence(_settings(), "models:/test-triage@champion") is None
