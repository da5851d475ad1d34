"""Replies join their thread's case; a killed ingest, re-run, stores every message exactly once."""

import subprocess
import sys
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.config import REPO_ROOT
from pipeline.corpus import load_split
from pipeline.inbox import write_inbox
from pipeline.ingest import parse_eml, read_eml_folder, store_messages
from pipeline.store import InquiryRow, open_store
from pipeline.threads import case_id_prefixes, case_number
from tests.conftest import CORPUS_DIR

EMAIL_ITEMS = [item for item in load_split(CORPUS_DIR, "dev") if item.channel == "email"][:150]


def mail(message_id: str, body: str, *, subject: str = "Fråga", in_reply_to: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "Karin Nilsson <karin.nilsson@exempel.se>"
    message["To"] = "kontaktcenter@solvik.se"
    message["Subject"] = subject
    message["Date"] = "Wed, 04 Nov 2026 08:00:00 +0100"
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    return bytes(message)


def test_generated_threads_attach_to_the_case_of_the_message_they_answer(tmp_path):
    summary = write_inbox(EMAIL_ITEMS, tmp_path, seed=11, thread_share=0.4, auto_reply_share=0.0, bounce_share=0.0)
    store = open_store(f"sqlite:///{tmp_path / 'cases.db'}")
    report = store_messages(read_eml_folder(summary.mail_dir), store)
    assert report.failed == [] and report.stored == summary.emails and summary.replies > 20
    replies = 0
    for path in sorted(summary.mail_dir.glob("*.eml")):
        headers = BytesParser(policy=policy.default).parsebytes(path.read_bytes(), headersonly=True)
        own = store.case_of(parse_eml(path.read_bytes(), source="maildrop", raw_ref="").inquiry.id)
        if headers["In-Reply-To"]:
            replies += 1
            parent = next(p for p in summary.mail_dir.glob("*.eml") if f"Message-ID: {headers['In-Reply-To']}".encode()
                          in p.read_bytes())
            assert own == store.case_of(parse_eml(parent.read_bytes(), source="maildrop", raw_ref="").inquiry.id)
    assert replies == summary.replies
    # One case per thread: replies open none of their own and are not classified again.
    assert sum(store.count_by_state().values()) == summary.emails - summary.replies
    assert len(store.new_inquiries()) == summary.emails - summary.replies
    store.dispose()


def test_a_case_number_in_the_subject_attaches_a_reply_without_thread_headers(tmp_path, store_url):
    store = open_store(store_url)
    store_messages([_item(mail("<first@exempel.se>", "Hej! Gatlampan på Storgatan lyser inte."))], store)
    (first,) = store.new_inquiries()
    number = case_number(first.id)
    assert number.startswith("KC-") and case_id_prefixes(f"SV: Ditt ärende {number.lower()} ") == [first.id[:10]]
    answer = mail("<second@exempel.se>", "Den lyser fortfarande inte, en vecka senare.", subject=f"SV: Ärende {number}")
    unknown = mail("<third@exempel.se>", "Svar på något vi aldrig fick.", in_reply_to="<never-seen@exempel.se>")
    store_messages([_item(answer), _item(unknown)], store)
    assert [i.raw_ref for i in store.thread(first.id)] == ["first", "second"]
    third = next(i for i in _inquiries(store) if i.raw_ref == "third")
    assert store.case_of(third.id) == third.id  # an unknown parent: a case of its own
    assert {i.raw_ref for i in store.new_inquiries()} == {"first", "third"}
    store.dispose()


def _item(data: bytes):
    from pipeline.ingest import SourceItem

    ref = data.split(b"Message-ID: <")[1].split(b"@")[0].decode()
    return SourceItem("maildrop", "eml", ref, "", parse_eml(data, source="maildrop", raw_ref=ref))


def _inquiries(store):
    with Session(store.engine) as session:
        return list(session.scalars(select(InquiryRow)))


KILLED_INGEST = """
import os, signal, sys
from pathlib import Path
from pipeline.ingest import read_eml_folder, store_messages
from pipeline.store import open_store

folder, url, kill_after = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])

def items():
    for n, item in enumerate(read_eml_folder(folder), 1):
        if n == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # no clean-up, no rollback: as a crash or an OOM kill
        yield item

store_messages(items(), open_store(url), batch_size=40)
"""


def test_an_ingest_killed_midway_and_rerun_stores_each_message_exactly_once(tmp_path, store_url):
    summary = write_inbox(EMAIL_ITEMS, tmp_path, seed=5, thread_share=0.2)
    files = sorted(summary.mail_dir.glob("*.eml"))
    expected = {m.external_id for p in files if (m := parse_eml(p.read_bytes(), source="maildrop", raw_ref=""))}
    killed = subprocess.run([sys.executable, "-c", KILLED_INGEST, str(summary.mail_dir), store_url, "100"],
                            cwd=REPO_ROOT, capture_output=True, timeout=120)
    assert killed.returncode == -9, killed.stderr.decode()
    store = open_store(store_url)
    with Session(store.engine) as session:
        partial = session.scalar(select(func.count()).select_from(InquiryRow))
    assert 0 < partial < len(expected)  # two batches committed, the third lost with the process

    store_messages(read_eml_folder(summary.mail_dir), store)
    store_messages(read_eml_folder(summary.mail_dir), store)
    with Session(store.engine) as session:
        stored = list(session.scalars(select(InquiryRow.external_id)))
    assert sorted(stored) == sorted(expected)
    store.dispose()
