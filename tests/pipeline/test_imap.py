"""The IMAP source against a real Dovecot server on loopback (fixture `imap_account` in tests/conftest.py)."""

from email.message import EmailMessage

import pytest

import pipeline.imap as imap_module
from pipeline.imap import ImapEndpoint, ImapError, imap_utf7, poll_imap
from pipeline.ingest_sources import retry_quarantine
from pipeline.quarantine import Quarantine
from pipeline.store import open_store


def mail(n: int, body: str = "", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Invånare {n} <person{n}@exempel.se>"
    message["To"] = "kontaktcenter@solvik.se"
    message["Subject"] = headers.pop("Subject", f"Fråga {n}")
    message["Date"] = "Thu, 05 Nov 2026 09:00:00 +0100"
    message["Message-ID"] = f"<imap{n}@exempel.se>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body or f"Hej! Fråga nummer {n} om sophämtningen i Solvik.")
    return bytes(message).replace(b"\n", b"\r\n")


@pytest.fixture
def mailbox(imap_account, tmp_path):
    server, user, password = imap_account
    client = server.client(user, password)
    store = open_store(f"sqlite:///{tmp_path / 'cases.db'}")
    yield server, client, ImapEndpoint(server.host, server.port, user, password, ssl=False), store
    store.dispose()
    client.logout()


def append(client, *messages: bytes, folder: str = "INBOX") -> None:
    for data in messages:
        assert client.append(folder, None, None, data)[0] == "OK"


def uids(client, folder: str, *criteria: str) -> list[str]:
    client.select(folder)
    return client.uid("SEARCH", *(criteria or ("ALL",)))[1][0].decode().split()


def test_poll_stores_new_mail_marks_it_and_skips_it_next_time(mailbox):
    _, client, endpoint, store = mailbox
    append(client, mail(1), mail(2), mail(3, Auto_Submitted="auto-replied", Subject="Frånvaromeddelande"),
           mail(4, " "), mail(5))
    report = poll_imap(endpoint, store, source="kc_imap", batch_size=2)
    assert (report.read, report.stored, report.skipped_auto_replies, len(report.failed)) == (5, 3, 1, 1)
    assert uids(client, "INBOX", "UNKEYWORD", "$TriageDone") == []
    assert len(uids(client, "INBOX", "KEYWORD", "$TriageDone")) == 5
    (entry,) = Quarantine(store.engine).entries()
    assert entry.kind == "imap" and entry.message_id == "<imap4@exempel.se>" and entry.has_payload
    assert entry.ref.startswith(f"imap://{endpoint.user}@127.0.0.1:{endpoint.port}/INBOX:") and entry.ref.endswith("/4")
    assert {i.raw_ref.rsplit("/", 1)[1] for i in store.new_inquiries()} == {"1", "2", "5"}

    assert poll_imap(endpoint, store, source="kc_imap").read == 0
    append(client, mail(6), mail(2))  # a new one, and the same message delivered again
    again = poll_imap(endpoint, store, source="kc_imap")
    assert (again.read, again.stored) == (2, 1)
    # The quarantined one is re-parsed from the bytes kept with it (the server copy is marked processed).
    _, remaining = retry_quarantine(store, {})
    assert remaining == 1 and Quarantine(store.engine).entries()[0].attempts == 2


def test_move_mode_moves_processed_mail_to_another_folder(mailbox):
    _, client, endpoint, store = mailbox
    append(client, mail(1), mail(2), mail(3))
    moving = ImapEndpoint(endpoint.host, endpoint.port, endpoint.user, endpoint.password, ssl=False, processed="move",
                          processed_folder="Behandlade ärenden")
    assert poll_imap(moving, store, source="kc_imap").stored == 3
    assert imap_utf7("Behandlade ärenden & klart") == "Behandlade &AOQ-renden &- klart"
    assert uids(client, "INBOX") == [] and len(uids(client, '"Behandlade &AOQ-renden"')) == 3
    assert poll_imap(moving, store, source="kc_imap").read == 0


def test_a_crash_between_store_and_mark_loses_and_duplicates_nothing(mailbox, monkeypatch):
    _, client, endpoint, store = mailbox
    append(client, *(mail(n) for n in range(1, 8)))
    real_mark = imap_module._mark_processed
    calls = []

    def crash_on_second_batch(*args):
        calls.append(args)
        if len(calls) == 2:
            raise ConnectionResetError("connection lost after the store commit")
        real_mark(*args)

    monkeypatch.setattr(imap_module, "_mark_processed", crash_on_second_batch)
    with pytest.raises(ConnectionResetError):
        poll_imap(endpoint, store, source="kc_imap", batch_size=3)
    assert len(store.new_inquiries()) == 6  # batches 1 and 2 stored; only batch 1 marked
    assert len(uids(client, "INBOX", "KEYWORD", "$TriageDone")) == 3
    monkeypatch.setattr(imap_module, "_mark_processed", real_mark)

    resumed = poll_imap(endpoint, store, source="kc_imap", batch_size=3)
    assert (resumed.read, resumed.stored) == (4, 1)  # batch 2 again (already stored) and the last message
    assert sorted(i.raw_ref.rsplit("/", 1)[1] for i in store.new_inquiries()) == [str(n) for n in range(1, 8)]
    assert uids(client, "INBOX", "UNKEYWORD", "$TriageDone") == []


def test_an_oversized_message_is_quarantined_without_being_fetched(mailbox):
    _, client, endpoint, store = mailbox
    append(client, mail(1), mail(2, "Bifogat: " + "x" * 6000))
    report = poll_imap(endpoint, store, source="kc_imap", max_bytes=4000)
    assert (report.stored, len(report.failed)) == (1, 1)
    (entry,) = Quarantine(store.engine).entries()
    assert "over the" in entry.reason and not entry.has_payload
    assert uids(client, "INBOX", "UNKEYWORD", "$TriageDone") == []


def test_a_wrong_password_is_a_clear_error(mailbox):
    _, _, endpoint, store = mailbox
    wrong = ImapEndpoint(endpoint.host, endpoint.port, endpoint.user, "fel", ssl=False)
    with pytest.raises(ImapError, match=f"login as {endpoint.user} refused"):
        poll_imap(wrong, store)
