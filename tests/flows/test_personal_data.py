"""A personnummer in ingested mail and calls stays in the case store: not in CLI output, logs, Prefect's database,
MLflow's store or its artifacts."""

import logging
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from pipeline.store import open_store
from tests.conftest import CORPUS_DIR, write_tiny_configs

pytestmark = pytest.mark.slow
runner = CliRunner()
# A personnummer with a valid checksum, and the forms it could leak in.
PERSONNUMMER = "19811218-9876"
LEAKS = (b"811218-9876", b"8112189876", "811218-9876".encode("utf-16-le"))


def _sqlite_path(url: str) -> Path | None:
    return Path(url.split(":///", 1)[1]) if url.startswith("sqlite") and ":///" in url else None


def test_no_personnummer_from_ingested_input_leaves_the_case_store(prefect_harness, data_dir, tmp_path, monkeypatch,
                                                                    caplog):
    # A fifth of each split and no external sets: enough for a model that routes, in a fraction of the time.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for split in ("train", "dev", "test"):
        lines = (CORPUS_DIR / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        (corpus / f"{split}.jsonl").write_text("\n".join(lines[::5]) + "\n", encoding="utf-8")
    configs = write_tiny_configs(tmp_path / "configs", corpus_dir=str(corpus), registered_model="pd-triage",
                                 experiment="pd-triage", external_sets={})
    monkeypatch.setenv("TRIAGE_CONFIG_DIR", str(configs))
    caplog.set_level(logging.DEBUG)

    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    (mail_dir / "1.eml").write_text(
        f"From: Anna {PERSONNUMMER} <anna@exempel.se>\nSubject: Ekonomiskt bistånd för {PERSONNUMMER}\n"
        "Message-ID: <pd1@exempel.se>\nContent-Type: text/plain; charset=utf-8\n\n"
        f"Hej! Jag har sökt försörjningsstöd, mitt personnummer är {PERSONNUMMER}. När får jag besked?\n",
        encoding="utf-8")
    (mail_dir / "2.eml").write_text(f"From: b@exempel.se\nSubject: {PERSONNUMMER}\nMessage-ID: <pd2@exempel.se>\n\n \n",
                                    encoding="utf-8")  # empty: quarantined, with the personnummer in its subject
    calls = tmp_path / "calls.csv"
    calls.write_text("call_id;started_at;caller_number;agent;reason;notes\n"
                     f"C1;2026-11-02T08:05:00;070-111 22 33;kc-anna;;Ringde om bygglov, pnr {PERSONNUMMER}\n"
                     f"C2;{PERSONNUMMER};;kc-anna;;Fråga om färdtjänst\n", encoding="utf-8")

    outputs = [runner.invoke(app, ["ingest", "--mail-dir", str(mail_dir), "--call-log", str(calls)]),
               runner.invoke(app, ["quarantine", "list", "--all"]),
               runner.invoke(app, ["train", "--alias", "champion"]),
               runner.invoke(app, ["triage"]),
               runner.invoke(app, ["queues"])]
    queues = [line.split()[0] for line in outputs[-1].output.splitlines()[1:] if line and not line.startswith("total")]
    outputs += [runner.invoke(app, ["queues", queue]) for queue in queues]
    for result in outputs:
        assert result.exit_code == 0, result.output
    assert "2 quarantined" not in outputs[0].output and "1 quarantined" in outputs[0].output
    assert sum("[PERSONNUMMER]" in r.output for r in outputs) >= 2  # the redacted text is there, in its place

    store_url = f"sqlite:///{data_dir / 'cases.db'}"
    store = open_store(store_url)
    raw = [store.raw_original(inquiry_id)[2] for inquiry_id in _inquiry_ids(store)]
    store.dispose()
    assert sum(PERSONNUMMER in body for body in raw) == 2  # the raw text is kept, in the case store only

    scanned = [r.output.encode() for r in outputs] + [caplog.text.encode()]
    files = [path for path in data_dir.rglob("*") if path.is_file() and not path.name.startswith("cases.db")]
    prefect_db = _prefect_database()
    if prefect_db is not None and prefect_db.is_file():
        files.append(prefect_db)
    assert any(path.suffix == ".db" for path in files) and any("mlartifacts" in str(path) for path in files)
    scanned += [path.read_bytes() for path in files]
    leaks = [leak for blob in scanned for leak in LEAKS if leak in blob]
    assert leaks == []


def _inquiry_ids(store) -> list[str]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from pipeline.store import InquiryRow

    with Session(store.engine) as session:
        return list(session.scalars(select(InquiryRow.id)))


def _prefect_database() -> Path | None:
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    url = PREFECT_API_DATABASE_CONNECTION_URL.value() or os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL", "")
    return _sqlite_path(str(url).replace("sqlite+aiosqlite", "sqlite"))
