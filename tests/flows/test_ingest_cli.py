"""`triage ingest` over every kind of source and `triage quarantine list/retry`, through the CLI and the ingest flow."""

import json
import mailbox
from email.message import EmailMessage

import pytest
from typer.testing import CliRunner

from flows.cli import app
from pipeline.store import open_store

runner = CliRunner()


def mail(n: int, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"person{n}@exempel.se"
    message["Subject"] = f"Fråga {n}"
    message["Message-ID"] = f"<cli{n}@exempel.se>"
    message.set_content(body)
    return message


def test_usage_errors_exit_2_with_what_to_do(data_dir, monkeypatch):
    monkeypatch.delenv("TRIAGE_IMAP_PASSWORD", raising=False)
    cases = [
        (["ingest"], "nothing to ingest"),
        (["ingest", "--path", "x.csv"], "--path needs exactly one --source"),
        (["ingest", "--source", "nope"], "no source 'nope'"),
        (["ingest", "--source", "vendor_b", "--path", "/no/such/file.json"], "does not exist"),
        (["ingest", "--imap", "imap://kc@127.0.0.1:1/INBOX"], "export TRIAGE_IMAP_PASSWORD"),
        (["ingest", "--imap", "imap://kc:hemligt@127.0.0.1:1/INBOX"], "put no password in the URL"),
        (["ingest", "--source", "kontaktcenter_imap"], "export TRIAGE_IMAP_PASSWORD"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "What to do" in result.output


@pytest.mark.slow
def test_every_source_kind_through_the_cli_then_quarantine_list_and_retry(prefect_harness, data_dir, tmp_path,
                                                                         imap_account, monkeypatch):
    box_path = tmp_path / "arkiv.mbox"
    box = mailbox.mbox(box_path)
    box.add(mail(1, "Hej! Vattnet i kranen är brunt."))
    box.close()
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(mail(2, "Gatlampan utanför skolan är trasig."))
    maildir.close()
    calls = tmp_path / "calls.json"
    good = {"samtalsId": "S1", "startTid": "2026-11-02 08:05", "anteckning": "Frågar om bygglov för altan"}
    calls.write_text(json.dumps([good, {**good, "samtalsId": "S2", "startTid": "i förrgår"}]), encoding="utf-8")
    server, user, password = imap_account
    client = server.client(user, password)
    client.append("INBOX", None, None, bytes(mail(3, "Snöröjningen har inte kommit till vår gata.")))
    client.logout()
    monkeypatch.setenv("TRIAGE_IMAP_PASSWORD", password)

    result = runner.invoke(app, ["ingest", "--source", "vendor_b", "--path", str(calls), "--mbox", str(box_path),
                                 "--maildir", str(tmp_path / "Maildir"), "--imap",
                                 f"imap://{user}@{server.host}:{server.port}/INBOX"])
    assert result.exit_code == 0, result.output
    assert result.output.count("stored 1 new") == 4 and "1 quarantined" in result.output
    assert f"quarantined: {calls}:2: start time 'i förrgår' matches none" in result.output

    listed = runner.invoke(app, ["quarantine", "list"])
    assert listed.exit_code == 0 and f"[vendor_b] {calls}:2" in listed.output and "1 open" in listed.output

    calls.write_text(json.dumps([good, {**good, "samtalsId": "S2", "startTid": "2026-11-02 09:40"}]), encoding="utf-8")
    retried = runner.invoke(app, ["quarantine", "retry"])
    assert retried.exit_code == 0 and "resolved 1, stored 1 new, 0 still open" in retried.output
    assert "The quarantine is empty." in runner.invoke(app, ["quarantine", "list"]).output
    assert "resolved" in runner.invoke(app, ["quarantine", "list", "--all"]).output

    (tmp_path / "bad.eml").write_bytes(b"From: x@exempel.se\nSubject: tom\n\n \n")
    runner.invoke(app, ["ingest", "--mail-dir", str(tmp_path)])
    entry_id = runner.invoke(app, ["quarantine", "list"]).output.split()[0].lstrip("#")
    assert runner.invoke(app, ["quarantine", "dismiss", entry_id, "--note", "skickat igen"]).output == "dismissed 1\n"
    assert "dismissed: skickat igen" in runner.invoke(app, ["quarantine", "list", "--all"]).output
    assert runner.invoke(app, ["quarantine", "dismiss", entry_id]).exit_code == 2

    again = runner.invoke(app, ["ingest", "--source", "vendor_b", "--path", str(calls), "--mbox", str(box_path),
                                "--imap", f"imap://{user}@{server.host}:{server.port}/INBOX"])
    assert again.exit_code == 0 and again.output.count("stored 0 new") == 3
    store = open_store(f"sqlite:///{data_dir / 'cases.db'}")
    assert store.count_by_state() == {"new": 5}
    store.dispose()
