"""mbox and Maildir sources; attachments recorded as metadata; one Message-ID is one inquiry across sources."""

import mailbox
from email.message import EmailMessage

import pytest

from pipeline.ingest import IngestError, read_eml_folder, store_messages
from pipeline.mailboxes import read_maildir, read_mbox
from pipeline.quarantine import Quarantine
from pipeline.store import open_store


def mail(n: int, body: str, *, attachment: tuple[str, str, bytes] | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Invånare {n} <person{n}@exempel.se>"
    message["To"] = "kontaktcenter@solvik.se"
    message["Subject"] = f"Ärende {n}"
    message["Date"] = "Tue, 03 Nov 2026 10:00:00 +0100"
    message["Message-ID"] = f"<box{n}@exempel.se>"
    message.set_content(body)
    if attachment is not None:
        name, mime, data = attachment
        maintype, subtype = mime.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


MESSAGES = [
    mail(1, "Hej! Vattnet i kranen är brunt sedan i morse."),
    mail(2, "Jag bifogar ritningen till altanen, behövs bygglov?", attachment=("Ritning altan.pdf", "application/pdf",
                                                                                b"%PDF-1.4\n" + bytes(5000))),
    mail(3, "Foto på hålet i vägen utanför skolan.", attachment=("IMG_1234.jpg", "image/jpeg", b"\xff\xd8\xff" + bytes(800))),
]


@pytest.fixture
def mbox_path(tmp_path):
    path = tmp_path / "arkiv.mbox"
    box = mailbox.mbox(path)
    for message in MESSAGES:
        box.add(message)
    # A message that is only headers: quarantined with its position in the mbox.
    box.add(b"From: x@exempel.se\nSubject: tom\nMessage-ID: <tom@exempel.se>\n\n")
    box.close()
    return path


@pytest.fixture
def maildir_path(tmp_path):
    path = tmp_path / "Maildir"
    box = mailbox.Maildir(path)
    for message in MESSAGES:
        box.add(message)
    box.close()
    return path


def test_mbox_is_read_with_attachment_metadata_and_a_quarantined_position(mbox_path, tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'cases.db'}")
    report = store_messages(read_mbox(mbox_path, source="arkiv_mbox"), store)
    assert (report.read, report.stored, len(report.failed)) == (4, 3, 1)
    (entry,) = Quarantine(store.engine).entries()
    assert entry.ref == f"{mbox_path}:3" and entry.kind == "mbox" and entry.message_id == "<tom@exempel.se>"
    by_subject = {store.raw_original(i.id)[1]: i for i in store.new_inquiries()}
    assert by_subject["Ärende 1"].source == "arkiv_mbox" and by_subject["Ärende 1"].raw_ref == f"{mbox_path}:0"
    assert store.details(by_subject["Ärende 1"].id) is None
    assert store.details(by_subject["Ärende 2"].id) == {
        "attachments": [{"name": "Ritning altan.pdf", "type": "application/pdf", "size": 5009}]}
    assert store.details(by_subject["Ärende 3"].id)["attachments"][0]["type"] == "image/jpeg"
    # Attachments are never part of the text that is classified.
    assert all("PDF" not in inquiry.body for inquiry in by_subject.values())
    assert store_messages(read_mbox(mbox_path, source="arkiv_mbox"), store).stored == 0
    store.dispose()


def test_maildir_and_the_same_mails_from_other_sources_are_stored_once(maildir_path, mbox_path, tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'cases.db'}")
    first = store_messages(read_maildir(maildir_path), store)
    assert (first.read, first.stored, first.failed) == (3, 3, [])
    keys = sorted(mailbox.Maildir(maildir_path).iterkeys())
    assert sorted(i.raw_ref for i in store.new_inquiries()) == sorted(f"{maildir_path}:{k}" for k in keys)
    # The same Message-IDs from an mbox and an .eml folder are the same inquiries.
    assert store_messages(read_mbox(mbox_path), store).stored == 0
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "1.eml").write_bytes(bytes(MESSAGES[0]))
    assert store_messages(read_eml_folder(folder), store).stored == 0
    assert store.count_by_state() == {"new": 3}
    store.dispose()


def test_missing_mailboxes_are_clear_errors(tmp_path):
    with pytest.raises(IngestError, match="mbox file not found"):
        list(read_mbox(tmp_path / "nope.mbox"))
    with pytest.raises(IngestError, match="not a Maildir"):
        list(read_maildir(tmp_path))
