"""Reading raw inquiries (an .eml drop folder, a call-log CSV) into cleaned, redacted inquiries for the store."""

from __future__ import annotations

import csv
import hashlib
import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.cleaning import clean_body, normalise_whitespace
from pipeline.domain import Channel, Inquiry
from pipeline.language import detect_language
from pipeline.redact import redact
from pipeline.store import CaseStore, StoredMessage

STOCKHOLM = ZoneInfo("Europe/Stockholm")
CALL_LOG_COLUMNS = ("call_id", "started_at", "caller_number", "agent", "reason", "notes")
_AUTO_REPLY_SUBJECT = re.compile(
    r"^(?:autosvar|automatiskt svar|frånvaromeddelande|out of office|automatic reply|auto[- ]?reply)", re.IGNORECASE
)
_TAGS = re.compile(r"<[^>]+>")
_BLOCK_TAGS = re.compile(r"<\s*(?:br|/p|/div|/li|/tr|/h\d)\s*/?\s*>", re.IGNORECASE)
_SCRIPT_STYLE = re.compile(r"<(script|style)\b.*?</\1>", re.IGNORECASE | re.DOTALL)


class IngestError(ValueError):
    """One input item could not be read; the message says why."""


@dataclass(frozen=True)
class IngestReport:
    read: int
    stored: int
    skipped_auto_replies: int
    failed: list[tuple[str, str]]


def inquiry_id(source: str, external_id: str) -> str:
    """Stable id for an inquiry, so re-ingesting the same message yields the same id."""
    return hashlib.sha256(f"{source}\x00{external_id}".encode()).hexdigest()[:20]


def html_to_text(markup: str) -> str:
    markup = _SCRIPT_STYLE.sub(" ", markup)
    markup = _BLOCK_TAGS.sub("\n", markup)
    return html.unescape(_TAGS.sub(" ", markup))


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    return html_to_text(content) if part.get_content_type() == "text/html" else content


def is_auto_reply(message: EmailMessage) -> bool:
    """Out-of-office replies and delivery failures (bounces): machine mail, not inquiries."""
    auto_submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    _, sender = parseaddr(str(message.get("From", "")))
    return (
        auto_submitted not in ("", "no")
        or message.get_content_type() == "multipart/report"
        or sender.lower().startswith(("mailer-daemon@", "postmaster@"))
        or message.get("X-Autoreply") is not None
        or message.get("X-Autorespond") is not None
        or bool(_AUTO_REPLY_SUBJECT.match(str(message.get("Subject", ""))))
    )


def build_message(
    *,
    source: str,
    external_id: str,
    channel: Channel,
    received_at: datetime,
    sender: str | None,
    subject: str | None,
    body: str,
    raw_ref: str,
) -> StoredMessage:
    """Clean, redact and detect the language of one message; the raw text is kept beside it for the store."""
    cleaned = clean_body(body)
    redacted_subject = redact(subject) if subject else None
    inquiry = Inquiry(
        id=inquiry_id(source, external_id),
        source=source,
        channel=channel,
        received_at=received_at,
        sender=redact(sender) if sender else None,
        subject=redacted_subject,
        body=redact(cleaned),
        language=detect_language(f"{subject or ''} {cleaned}"),
        raw_ref=raw_ref,
    )
    return StoredMessage(inquiry=inquiry, external_id=f"{source}:{external_id}", raw_sender=sender, raw_subject=subject,
                         raw_body=body)


def parse_eml(data: bytes, *, source: str, raw_ref: str) -> StoredMessage | None:
    """One e-mail as a stored message, or None for an auto-reply (not an inquiry)."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    if is_auto_reply(message):
        return None
    body = normalise_whitespace(_body_text(message))
    if not body:
        raise IngestError("the e-mail has no readable text")
    message_id = str(message.get("Message-ID", "")).strip() or hashlib.sha256(data).hexdigest()
    try:
        received_at = parsedate_to_datetime(str(message["Date"])) if message["Date"] else datetime.now(UTC)
    except (TypeError, ValueError):
        received_at = datetime.now(UTC)
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=STOCKHOLM)
    _, sender = parseaddr(str(message.get("From", "")))
    subject = str(message.get("Subject", "")).strip() or None
    return build_message(
        source=source,
        external_id=message_id,
        channel=Channel.EMAIL,
        received_at=received_at.astimezone(UTC),
        sender=sender or None,
        subject=subject,
        body=body,
        raw_ref=raw_ref,
    )


def read_eml_folder(folder: Path, *, source: str = "maildrop") -> Iterator[tuple[Path, StoredMessage | None | Exception]]:
    """Each .eml file in a folder (sorted by name) with its parsed message, None (auto-reply) or the error."""
    if not folder.is_dir():
        raise IngestError(f"mail folder not found: {folder}")
    for path in sorted(folder.glob("*.eml")):
        try:
            yield path, parse_eml(path.read_bytes(), source=source, raw_ref=str(path))
        except (IngestError, ValueError, UnicodeError) as exc:
            yield path, exc


def read_call_log(path: Path, *, source: str = "calllog") -> Iterator[tuple[str, StoredMessage | Exception]]:
    """Each row of a call-log CSV (semicolon-separated, local Swedish time) as a stored message or its error."""
    if not path.is_file():
        raise IngestError(f"call log not found: {path}")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        missing = set(CALL_LOG_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise IngestError(f"{path} lacks the columns {sorted(missing)}")
        for line_number, row in enumerate(reader, start=2):
            ref = f"{path}:{line_number}"
            try:
                notes = normalise_whitespace(row["notes"] or "")
                if not notes or not row["call_id"]:
                    raise IngestError("row has no call id or no notes")
                started = datetime.fromisoformat(row["started_at"])
                if started.tzinfo is None:
                    started = started.replace(tzinfo=STOCKHOLM)
                yield ref, build_message(
                    source=source,
                    external_id=row["call_id"],
                    channel=Channel.CALL,
                    received_at=started.astimezone(UTC),
                    sender=row["caller_number"] or None,
                    subject=None,
                    body=notes,
                    raw_ref=ref,
                )
            except (IngestError, ValueError, TypeError) as exc:
                yield ref, exc


def store_messages(
    items: Iterable[tuple[str | Path, StoredMessage | None | Exception]], store: CaseStore
) -> IngestReport:
    """Store what a reader yields; auto-replies are counted and skipped, failures are reported with their reason."""
    batch: list[StoredMessage] = []
    failed: list[tuple[str, str]] = []
    read = autos = stored = 0
    for ref, result in items:
        read += 1
        if result is None:
            autos += 1
        elif isinstance(result, Exception):
            failed.append((str(ref), str(result)))
        else:
            batch.append(result)
        if len(batch) >= 200:
            stored += store.add_messages(batch)
            batch.clear()
    stored += store.add_messages(batch)
    return IngestReport(read=read, stored=stored, skipped_auto_replies=autos, failed=failed)
