"""End to end through the `triage` CLI under one Prefect test server: demo, queues, classify contract."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import write_tiny_configs

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture
def tiny_configs(tmp_path, monkeypatch) -> Path:
    """The shipped configs with a smaller TF-IDF, so training takes seconds."""
    # The demo trains twice (champion, then challenger): the smallest useful TF-IDF keeps that to seconds.
    config_dir = write_tiny_configs(tmp_path / "configs", tfidf={"max_features": 3000, "C": 2.0},
                                    registered_model="e2e-triage", experiment="e2e-triage")
    monkeypatch.setenv("TRIAGE_CONFIG_DIR", str(config_dir))
    return config_dir


def _write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_classify_without_a_model_says_how_to_train(data_dir, tiny_configs, tmp_path):
    source = _write_jsonl(tmp_path / "in.jsonl", [json.dumps({"id": "1", "channel": "email", "body": "hej"})])
    result = runner.invoke(app, ["classify", "--in", str(source), "--out", "-"])
    assert result.exit_code == 2
    assert "triage train" in result.output
    assert "Traceback" not in result.output


def test_demo_then_queues_then_classify(prefect_harness, data_dir, tiny_configs, tmp_path):
    demo = runner.invoke(app, ["demo", "--size", "80"])
    assert demo.exit_code == 0, demo.output
    assert "registered e2e-triage version 1 as @champion" in demo.output
    assert any(line.startswith("total") for line in demo.output.splitlines())
    # Champion/challenger: the second model ran in shadow mode, the gate decided, the monitor reported.
    assert "registered e2e-triage version 2 as @challenger" in demo.output
    assert "shadow: challenger e2e-triage/2 vs champion e2e-triage/1" in demo.output
    promoted = "PROMOTED: e2e-triage version 2 (champion was 1)" in demo.output
    assert promoted or "REJECTED: e2e-triage version 2 (champion was 1)" in demo.output
    assert "# Monitor report" in demo.output and "topic drift (PSI)" in demo.output
    rollback = runner.invoke(app, ["rollback", "--reason", "e2e test"])
    if promoted:
        assert rollback.exit_code == 0 and "moved back from version 2 to version 1" in rollback.output
    else:
        assert rollback.exit_code == 2 and "no earlier champion" in rollback.output
    # A promoted challenger lost its alias (nothing left to judge); a rejected one keeps it and is judged again.
    promote_again = runner.invoke(app, ["promote"])
    if promoted:
        assert promote_again.exit_code == 2 and "no @challenger" in promote_again.output
    else:
        assert promote_again.exit_code == 0 and "REJECTED" in promote_again.output
    monitor = runner.invoke(app, ["monitor", "--days", "1"])
    assert monitor.exit_code == 0 and "routed cases compared with the training data" in monitor.output

    again = runner.invoke(app, ["ingest", "--mail-dir", str(data_dir / "inbox" / "mail")])
    assert again.exit_code == 0 and "stored 0 new" in again.output

    counts = runner.invoke(app, ["queues"])
    total = int(next(line for line in counts.output.splitlines() if line.startswith("total")).split()[1])
    assert total > 60  # the 80 items minus nothing lost: e-mails and calls all routed
    assert (data_dir / "mlflow.db").is_file()

    lines = [
        json.dumps({"id": "ok-1", "channel": "email", "subject": "Sopor", "body": "Soptunnan har inte tömts."}),
        "this is not json",
        json.dumps({"id": "no-body", "channel": "call", "subject": None}),
        json.dumps({"id": "ok-2", "channel": "call", "subject": None, "body": "Ringde ang. bygglov för altan."}),
    ]
    source = _write_jsonl(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["classify", "--in", str(source), "--out", str(out)])
    assert result.exit_code == 3, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r.get("id") for r in records] == ["ok-1", None, None, "ok-2"]
    assert records[1]["line"] == 2 and records[2]["line"] == 3
    assert records[0]["model_version"] == "e2e-triage/1"

    good = _write_jsonl(tmp_path / "good.jsonl", [lines[0], lines[3]])
    result = runner.invoke(app, ["classify", "--in", str(good), "--out", "-"])
    assert result.exit_code == 0
    assert [json.loads(x)["id"] for x in result.stdout.splitlines() if x.startswith("{")] == ["ok-1", "ok-2"]
    # The backlog path (here on Prefect's default runner) keeps the classify contract line for line.
    scored = tmp_path / "scored.jsonl"
    result = runner.invoke(app, ["backlog", "--in", str(source), "--out", str(scored), "--workers", "0",
                                 "--chunk-lines", "2"])
    assert result.exit_code == 3, result.output
    assert "scored 4 lines in 2 chunks with e2e-triage/1; 2 bad lines" in result.output
    assert scored.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")
