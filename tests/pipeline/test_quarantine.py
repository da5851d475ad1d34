"""Bad input goes to quarantine with its reason and reference, the batch proceeds, and a retry after a fix resolves it."""

from email.message import EmailMessage

import pytest

from pipeline.calllogs import VENDOR_A
from pipeline.ingest import MAX_MESSAGE_BYTES, IngestError, parse_eml, read_call_log, read_eml_folder, store_messages
from pipeline.ingest_sources import retry_quarantine
from pipeline.quarantine import Quarantine
from pipeline.store import open_store


def mail(body: str = "Hej! Soptunnan har inte tömts på två veckor.", *, message_id: str = "<ok@exempel.se>",
         attachment: bytes | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "Åsa Öberg <asa.oberg@exempel.se>"
    message["To"] = "kontaktcenter@solvik.se"
    message["Subject"] = "Sophämtning"
    message["Date"] = "Mon, 02 Nov 2026 09:15:00 +0100"
    message["Message-ID"] = message_id
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype="pdf", filename="ritning.pdf")
    return bytes(message)


HEAD = b"From: a@exempel.se\nSubject: Fel\nMessage-ID: <%s@exempel.se>\nMIME-Version: 1.0\n"
BAD_MAILS = {
    # Malformed MIME: multipart without a boundary parameter, and one whose boundary never occurs.
    "no-boundary": (HEAD % b"nb" + b"Content-Type: multipart/mixed\n\nHej, fr\xc3\xa5ga om bygglov\n", "malformed MIME"),
    "lost-boundary": (HEAD % b"lb" + b'Content-Type: multipart/mixed; boundary="XYZ"\n\n--ABC\nContent-Type: text/plain\n\n'
                      b"Hej\n--ABC--\n", "malformed MIME"),
    # A file cut off inside its attachment: the closing boundary is missing.
    "truncated": (HEAD % b"tr" + b'Content-Type: multipart/mixed; boundary="B1"\n\n--B1\nContent-Type: text/plain; '
                  b"charset=utf-8\n\nSn\xc3\xb6r\xc3\xb6jningen har inte kommit.\n--B1\nContent-Type: application/pdf\n"
                  b"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQKJeLjz9MKMSAwIG9i", "malformed MIME"),
    # Declared UTF-8 but not UTF-8 at all.
    "undecodable": (HEAD % b"ud" + b"Content-Type: text/plain; charset=utf-8\n\n\xff\xfe\x00\x01\x02\x03\x04\x05\x06\x07"
                    b"\x80\x81\x82 Hej \xfe\xff\x00\x00\x00\x00\x00\n", "undecodable bytes"),
    "empty": (HEAD % b"em" + b"Content-Type: text/plain; charset=utf-8\n\n   \n\n", "no readable text"),
    "headers-only": (b"From: a@exempel.se\nSubject: Avbrutet", "no readable text"),
}


def test_undeclared_latin1_text_is_read_and_binary_junk_is_not():
    latin = HEAD % b"l1" + b"Content-Type: text/plain\n\nH\xe4lsningar fr\xe5n \xc5sa, gatlampan \xe4r trasig.\n"
    assert "Hälsningar från Åsa" in parse_eml(latin, source="m", raw_ref="x").raw_body
    for name, (data, reason) in BAD_MAILS.items():
        with pytest.raises(IngestError, match=reason):
            parse_eml(data, source="m", raw_ref=name)


def test_a_message_over_25_mb_is_quarantined_unread(tmp_path, store_url):
    folder = tmp_path / "mail"
    folder.mkdir()
    big = mail(attachment=b"%PDF-1.4\n" + bytes(25 * 1024 * 1024))  # a 25 MB attachment, 34 MB as base64
    assert len(big) > MAX_MESSAGE_BYTES
    (folder / "big.eml").write_bytes(big)
    (folder / "ok.eml").write_bytes(mail())
    store = open_store(store_url)
    report = store_messages(read_eml_folder(folder), store)
    assert (report.read, report.stored) == (2, 1)
    (entry,) = Quarantine(store.engine).entries()
    assert entry.ref == str(folder / "big.eml") and "over the 25 MB limit" in entry.reason
    assert not entry.has_payload  # too large to keep; a retry reads the file
    store.dispose()


def test_every_bad_mail_is_quarantined_the_batch_proceeds_and_a_fix_resolves_it(tmp_path, store_url):
    folder = tmp_path / "mail"
    folder.mkdir()
    for name, (data, _) in BAD_MAILS.items():
        (folder / f"{name}.eml").write_bytes(data)
    (folder / "good.eml").write_bytes(mail())
    store = open_store(store_url)
    quarantine = Quarantine(store.engine)

    report = store_messages(read_eml_folder(folder), store)
    assert (report.read, report.stored, len(report.failed)) == (len(BAD_MAILS) + 1, 1, len(BAD_MAILS))
    entries = {entry.ref: entry for entry in quarantine.entries()}
    assert set(entries) == {str(folder / f"{name}.eml") for name in BAD_MAILS}
    for name, (_, reason) in BAD_MAILS.items():
        entry = entries[str(folder / f"{name}.eml")]
        assert reason in entry.reason and entry.source == "maildrop" and entry.kind == "eml" and entry.attempts == 1
    assert entries[str(folder / "undecodable.eml")].message_id == "<ud@exempel.se>"

    # A re-run changes nothing: still one inquiry, still the same open entries, now tried twice.
    again = store_messages(read_eml_folder(folder), store)
    assert again.stored == 0 and quarantine.open_count() == len(BAD_MAILS)
    assert {entry.attempts for entry in quarantine.entries()} == {2}

    # The sender's mail is re-exported fixed; another file is gone but its raw bytes were kept.
    fixed = mail("Nu med rätt teckenkodning: gatlampan är trasig.", message_id="<ud@exempel.se>")
    (folder / "undecodable.eml").write_bytes(fixed)
    (folder / "empty.eml").unlink()
    report, remaining = retry_quarantine(store, {})
    assert report.resolved == 1 and report.stored == 1 and remaining == len(BAD_MAILS) - 1
    refs = {entry.ref for entry in quarantine.entries()}
    assert str(folder / "undecodable.eml") not in refs and str(folder / "empty.eml") in refs
    resolved = [entry for entry in quarantine.entries(include_resolved=True) if entry.resolved_at is not None]
    assert [entry.ref for entry in resolved] == [str(folder / "undecodable.eml")]
    assert store.count_by_state() == {"new": 2}
    store.dispose()


def test_a_row_fixed_in_the_file_is_resolved_by_retry(tmp_path, store_url):
    path = tmp_path / "calls.csv"
    header = "call_id;started_at;caller_number;agent;reason;notes;duration_min\n"
    path.write_text(header + "C1;2026-11-02T08:05:00;;kc-anna;;Soptunnan är inte tömd;1,5\n"
                    + "C2;2026-11-02T08:10:00\n", encoding="utf-8")
    store = open_store(store_url)
    store_messages(read_call_log(path), store)
    (entry,) = Quarantine(store.engine).entries()
    assert entry.ref == f"{path}:3" and entry.source == "vendor_a" and "missing columns" in entry.reason

    path.write_text(header + "C1;2026-11-02T08:05:00;;kc-anna;;Soptunnan är inte tömd;1,5\n"
                    + "C2;2026-11-02T08:10:00;;kc-anna;;Fråga om bygglov för plank;2,0\n", encoding="utf-8")
    report, remaining = retry_quarantine(store, {"vendor_a": VENDOR_A})
    assert (report.resolved, report.stored, remaining) == (1, 1, 0)
    assert store.count_by_state() == {"new": 2}
    store.dispose()


def test_a_row_whose_file_is_gone_is_retried_from_its_kept_bytes_after_a_config_fix(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("call_id;started_at;caller_number;agent;reason;notes;duration_min\n"
                    "C1;2.11.2026 08:05;;kc-anna;;Soptunnan är inte tömd;1,5\n", encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'cases.db'}")
    store_messages(read_call_log(path), store)
    assert "matches none of the formats" in Quarantine(store.engine).entries()[0].reason
    path.unlink()

    _, remaining = retry_quarantine(store, {"vendor_a": VENDOR_A})
    assert remaining == 1  # the same config still cannot read it
    fixed = VENDOR_A.model_copy(update={"timestamp_formats": [*VENDOR_A.timestamp_formats, "%d.%m.%Y %H:%M"]})
    report, remaining = retry_quarantine(store, {"vendor_a": fixed})
    assert (report.resolved, report.stored, remaining) == (1, 1, 0)
    (inquiry,) = store.new_inquiries()
    assert inquiry.received_at.hour == 7 and inquiry.raw_ref.endswith("calls.csv:2")
    store.dispose()


def test_a_reason_that_quotes_the_input_is_redacted(tmp_path):
    path = tmp_path / "calls.csv"
    # An export without its header row: the first data row, with a personnummer, is read as the header.
    path.write_text("C1;2026-11-02T08:05:00;070-111 22 33;kc-anna;;Mitt personnummer är 19811218-9876;1,5\n",
                    encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'cases.db'}")
    report = store_messages(read_call_log(path), store)
    ((_, reason),) = report.failed
    assert "lacks the columns" in reason and "[PERSONNUMMER]" in reason and "[TELEFON]" in reason
    assert "9876" not in reason and "9876" not in Quarantine(store.engine).entries()[0].reason
    store.dispose()


def test_whole_file_problems_are_resolved_once_the_file_reads_through(tmp_path):
    from pipeline.calllogs import read_call_json
    from pipeline.sources import CallFields, CallLogSource

    vendor_b = CallLogSource(kind="call_json", name="vendor_b", timestamp_formats=["%Y-%m-%d %H:%M"],
                             fields=CallFields(call_id="samtalsId", started_at="startTid", notes="anteckning"))
    calls = tmp_path / "calls.json"
    record = '{"samtalsId": "S1", "startTid": "2026-11-02 08:05", "anteckning": "Fråga om bygglov"}'
    calls.write_text(f"[\n  {record}\n", encoding="utf-8")  # the closing bracket never came
    header_less = tmp_path / "calls.csv"
    header_less.write_text("C1;2026-11-02T08:05:00;;kc-anna;;Soptunnan är inte tömd\n", encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'cases.db'}")
    store_messages(read_call_json(calls, vendor_b), store)
    store_messages(read_call_log(header_less), store)
    entries = {entry.ref: entry.reason for entry in Quarantine(store.engine).entries()}
    assert "truncated after record 1" in entries[str(calls)] and "lacks the columns" in entries[str(header_less)]
    assert len(store.new_inquiries()) == 1  # the record before the cut went in

    calls.write_text(f"[\n  {record}\n]\n", encoding="utf-8")
    header_less.write_text("call_id;started_at;caller_number;agent;reason;notes\n"
                           "C1;2026-11-02T08:05:00;;kc-anna;;Soptunnan är inte tömd\n", encoding="utf-8")
    report, remaining = retry_quarantine(store, {"vendor_b": vendor_b, "vendor_a": VENDOR_A})
    assert (report.resolved, report.stored, remaining) == (2, 1, 0)
    store.dispose()


def test_overlong_ids_and_addresses_never_break_a_batch(tmp_path, store_url):
    folder = tmp_path / "mail"
    folder.mkdir()
    long_id = "<" + "x" * 900 + "@exempel.se>"
    (folder / "1.eml").write_bytes(mail(message_id=long_id).replace(b"asa.oberg@exempel.se", b"a" * 700 + b"@exempel.se"))
    (folder / "2.eml").write_bytes(HEAD % (b"y" * 900) + b"\n")  # quarantined, with its overlong Message-ID
    calls = tmp_path / "calls.csv"
    calls.write_text("call_id;started_at;caller_number;agent;reason;notes\n"
                     f"{'C' * 500};2026-11-02T08:05:00;;kc-anna;;Fråga om bygglov\n", encoding="utf-8")
    store = open_store(store_url)
    assert store_messages(read_eml_folder(folder), store).stored == 1
    report = store_messages(read_call_log(calls), store)
    assert "500 characters long" in report.failed[0][1]
    assert Quarantine(store.engine).open_count() == 2
    store.dispose()


def test_a_message_the_database_refuses_is_quarantined_and_the_batch_is_stored(tmp_path, store_url):
    from dataclasses import replace

    from pipeline.ingest import SourceItem

    def item(n: int, message) -> SourceItem:
        return SourceItem("maildrop", "eml", f"{n}.eml", "", message, payload=b"raw")

    first = parse_eml(mail(message_id="<a@exempel.se>"), source="maildrop", raw_ref="1.eml")
    second = parse_eml(mail(message_id="<b@exempel.se>"), source="maildrop", raw_ref="3.eml")
    # Another external id but the same inquiry id: the database's primary key refuses it.
    clash = replace(first, external_id="mail:<c@exempel.se>")
    store = open_store(store_url)
    report = store_messages([item(1, first), item(2, clash), item(3, second)], store)
    assert report.stored == 2 and [ref for ref, _ in report.failed] == ["2.eml"]
    (entry,) = Quarantine(store.engine).entries()
    assert entry.ref == "2.eml" and "the case store refused it" in entry.reason and entry.has_payload
    store.dispose()
