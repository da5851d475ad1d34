"""Reading raw inquiries (e-mails, call logs) into cleaned, redacted inquiries for the store, or into quarantine.

Every reader yields one `SourceItem` per message, call or unreadable piece of input; `store_messages` stores the
messages and puts every failure in the quarantine with its reason and where it came from, so one bad item never
stops a batch and nothing is lost.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import errors as email_errors
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from pipeline.cleaning import clean_body, normalise_whitespace
from pipeline.domain import Channel, Inquiry
from pipeline.language import detect_language
from pipeline.redact import redact
from pipeline.store import CaseStore, StoredMessage

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# A message this large is an attachment dump, not an inquiry; it is quarantined unread.
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
MAIL_NAMESPACE = "mail"  # Message-IDs are global: the same mail from any mail source is one inquiry
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
    resolved: int = 0  # quarantine entries that this run read successfully

    def __add__(self, other: IngestReport) -> IngestReport:
        return IngestReport(self.read + other.read, self.stored + other.stored,
                            self.skipped_auto_replies + other.skipped_auto_replies, self.failed + other.failed,
                            self.resolved + other.resolved)


EMPTY_REPORT = IngestReport(0, 0, 0, [])


@dataclass(frozen=True)
class SourceItem:
    """One thing a source read: a message, None (auto-reply or bounce), or the error that sends it to quarantine.

    `location` is the file, mailbox or IMAP folder, `item` the line, record, key or UID in it ('' for the whole
    location). `payload` is the raw input, kept with a quarantine entry so it can be retried when the source is gone.
    """

    source: str
    kind: str  # eml, mbox, maildir, imap, call_csv, call_json: how a retry reads the item again
    location: str
    item: str
    result: StoredMessage | None | Exception
    payload: bytes | None = None
    message_id: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.location}:{self.item}" if self.item else self.location


def inquiry_id(source: str, external_id: str) -> str:
    """Stable id for an inquiry, so re-ingesting the same message yields the same id."""
    return hashlib.sha256(f"{source}\x00{external_id}".encode()).hexdigest()[:20]


def html_to_text(markup: str) -> str:
    markup = _SCRIPT_STYLE.sub(" ", markup)
    markup = _BLOCK_TAGS.sub("\n", markup)
    return html.unescape(_TAGS.sub(" ", markup))


_LATIN_CHARSETS = frozenset({"us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "iso-8859-15", "windows-1252",
                              "cp1252", "utf-8", "utf8"})
_STRUCTURAL_DEFECTS = (email_errors.NoBoundaryInMultipartDefect, email_errors.StartBoundaryNotFoundDefect,
                       email_errors.CloseBoundaryNotFoundDefect, email_errors.MultipartInvariantViolationDefect)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_FOLDING = re.compile(r"\s*\r?\n\s+")
# How many references of a thread are kept to find its case (the newest ones).
MAX_REFERENCES = 20
# Ids and addresses longer than these are not real ones; they must not break a batch on a column's length limit.
MAX_ID_CHARS = 400
MAX_SENDER_CHARS = 320


def decode_text(payload: bytes, declared: str | None) -> str:
    """Text in its declared charset; undeclared or Latin charsets fall back to UTF-8 and then Windows-1252.

    Anything that is still not text (invalid bytes for every candidate, or mostly control characters) raises
    IngestError: it goes to quarantine rather than into the store as mojibake."""
    name = (declared or "").strip().strip('"').lower() or None
    # iso-8859-1 labels usually mean Windows-1252 (smart quotes in 0x80-0x9f), as browsers also assume.
    candidates = ["windows-1252" if name in ("iso-8859-1", "latin-1", "latin1") else name] if name else []
    if name is None or name in _LATIN_CHARSETS:
        candidates += ["utf-8", "windows-1252"]
    else:
        try:
            codecs.lookup(name)
        except LookupError:  # an unknown label: treat it as undeclared
            candidates = ["utf-8", "windows-1252"]
    for candidate in dict.fromkeys(c for c in candidates if c):
        try:
            text = payload.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
        if len(_CONTROL.findall(text)) <= max(2, len(text) // 100):
            return text
    tried = ", ".join(dict.fromkeys(c for c in candidates if c))
    raise IngestError(f"undecodable bytes: the text (charset {name or 'undeclared'}) is not readable as {tried}")


def header_text(message: Message, name: str) -> str:
    """A header as text: RFC 2047 encoded words decoded, folding undone; a header that cannot be decoded is kept
    as received rather than failing the message."""
    raw = message.get(name)
    if raw is None:
        return ""
    return _FOLDING.sub(" ", _decode_words(str(raw))).strip()


def _decode_words(text: str) -> str:
    """RFC 2047 encoded words decoded; text with broken ones is kept as it is."""
    if "=?" in text:
        with contextlib.suppress(email_errors.HeaderParseError, UnicodeError, LookupError, ValueError):
            return str(make_header(decode_header(text)))
    return text


def _raw_header(message: Message, name: str) -> str:
    value = message.get(name)
    return "" if value is None else str(value)


def _parts(message: Message) -> Iterator[Message]:
    """Every leaf part, in order, without descending into attached messages (message/rfc822 is an attachment)."""
    if message.is_multipart():
        for child in message.get_payload():
            if isinstance(child, Message):
                yield from _parts(child)
    else:
        yield message


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("Content-Disposition", "")).split(";", 1)[0].strip().lower()
    return disposition == "attachment"


def _body_part(message: Message) -> Message | None:
    """The text a person wrote: the first plain-text part that is not an attachment, else the first HTML one."""
    leaves = [part for part in _parts(message) if part.get_content_maintype() == "text" and not _is_attachment(part)]
    for subtype in ("plain", "html"):
        for part in leaves:
            if part.get_content_subtype() == subtype:
                return part
    return None


def _body_text(part: Message | None) -> str:
    if part is None:
        return ""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    content = decode_text(payload, part.get_content_charset())
    return html_to_text(content) if part.get_content_subtype() == "html" else content


def _check_structure(message: Message) -> None:
    for part in message.walk():
        broken = [d for d in part.defects if isinstance(d, _STRUCTURAL_DEFECTS)]
        if broken:
            raise IngestError(f"malformed MIME ({type(broken[0]).__name__}): the message is cut off or its parts "
                              "cannot be told apart")


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (ValueError, TypeError, LookupError, UnicodeError):
        return None
    # An RFC 2047 word inside the parameter, as Outlook and Gmail write it.
    return _decode_words(name) if name else name


def attachment_metadata(message: Message, body: Message | None) -> list[dict[str, object]]:
    """Name, type and size of every part that is not the body text: recorded, never read or classified."""
    found: list[dict[str, object]] = []
    for part in _parts(message):
        if part is body:
            continue
        name = _filename(part)
        if name is None and part.get_content_maintype() == "text" and not _is_attachment(part):
            continue  # the other rendering of the body (text beside HTML), not an attachment
        payload = part.get_payload(decode=True)
        found.append({"name": name, "type": part.get_content_type(),
                      "size": len(payload) if isinstance(payload, bytes) else 0})
    return found


def message_ids(value: object) -> list[str]:
    return _MESSAGE_ID.findall(str(value or ""))


def is_auto_reply(message: Message) -> bool:
    """Out-of-office replies and delivery failures (bounces): machine mail, not inquiries."""
    auto_submitted = _raw_header(message, "Auto-Submitted").strip().lower() or "no"
    _, sender = parseaddr(_raw_header(message, "From"))
    return (
        auto_submitted not in ("", "no")
        or message.get_content_type() == "multipart/report"
        or sender.lower().startswith(("mailer-daemon@", "postmaster@"))
        or message.get("X-Autoreply") is not None
        or message.get("X-Autorespond") is not None
        or bool(_AUTO_REPLY_SUBJECT.match(header_text(message, "Subject")))
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
    namespace: str | None = None,
    message_id: str | None = None,
    references: tuple[str, ...] = (),
    details: dict[str, object] | None = None,
    raw_body: str | None = None,
) -> StoredMessage:
    """Clean, redact and detect the language of one message; the raw text is kept beside it for the store.

    `namespace` (default: the source) scopes `external_id` for de-duplication; `raw_body` defaults to `body`."""
    namespace = namespace or source
    if len(external_id) > MAX_ID_CHARS:
        raise IngestError(f"the id is {len(external_id)} characters long; at most {MAX_ID_CHARS} are expected")
    sender = sender[:MAX_SENDER_CHARS] if sender else sender
    cleaned = clean_body(body)
    redacted_subject = redact(subject) if subject else None
    inquiry = Inquiry(
        id=inquiry_id(namespace, external_id),
        source=source,
        channel=channel,
        received_at=received_at,
        sender=redact(sender) if sender else None,
        subject=redacted_subject,
        body=redact(cleaned),
        language=detect_language(f"{subject or ''} {cleaned}"),
        raw_ref=raw_ref,
    )
    return StoredMessage(inquiry=inquiry, external_id=f"{namespace}:{external_id}", raw_sender=sender,
                         raw_subject=subject, raw_body=body if raw_body is None else raw_body, message_id=message_id,
                         references=references, details=details)


def parse_eml(data: bytes, *, source: str, raw_ref: str, max_bytes: int = MAX_MESSAGE_BYTES) -> StoredMessage | None:
    """One e-mail as a stored message, or None for an auto-reply or bounce (not an inquiry).

    Raises IngestError, and only that, for mail that cannot be read: too large, malformed MIME, undecodable text,
    no text at all. The caller quarantines it."""
    if len(data) > max_bytes:
        raise IngestError(f"message is {len(data) / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit")
    try:
        return _parse_eml(data, source=source, raw_ref=raw_ref)
    except IngestError:
        raise
    except (ValueError, LookupError, TypeError, AttributeError, IndexError, email_errors.MessageError) as exc:
        # The email package raises these for headers it cannot parse (e.g. a broken address or encoded word).
        raise IngestError(f"malformed message ({type(exc).__name__}: {exc})") from exc


def _parse_eml(data: bytes, *, source: str, raw_ref: str) -> StoredMessage | None:
    # compat32 leaves headers as strings until asked: several times faster than policy.default's header objects,
    # which matters at thousands of mails a minute. The few headers used are decoded by header_text.
    message = BytesParser(policy=compat32).parsebytes(data)
    if is_auto_reply(message):
        return None
    _check_structure(message)
    part = _body_part(message)
    body = normalise_whitespace(_body_text(part))
    if not body:
        raise IngestError("the e-mail has no readable text (empty body)")
    ids = [i for i in message_ids(_raw_header(message, "Message-ID")) if len(i) <= MAX_ID_CHARS]
    message_id = ids[0] if ids else None  # without one, the message's own hash keys it
    references = tuple(dict.fromkeys(i for i in [*message_ids(_raw_header(message, "References")),
                                                 *message_ids(_raw_header(message, "In-Reply-To"))]
                                     if len(i) <= MAX_ID_CHARS))[-MAX_REFERENCES:]
    date = _raw_header(message, "Date")
    try:
        received_at = parsedate_to_datetime(date) if date else datetime.now(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        received_at = datetime.now(UTC)
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=STOCKHOLM)
    _, sender = parseaddr(_raw_header(message, "From"))
    subject = normalise_whitespace(header_text(message, "Subject")) or None
    attachments = attachment_metadata(message, part)
    return build_message(
        source=source,
        namespace=MAIL_NAMESPACE,
        external_id=message_id or hashlib.sha256(data).hexdigest(),
        channel=Channel.EMAIL,
        received_at=received_at.astimezone(UTC),
        sender=sender or None,
        subject=subject,
        body=body,
        raw_ref=raw_ref,
        message_id=message_id,
        references=references,
        details={"attachments": attachments} if attachments else None,
    )


def mail_item(data: bytes, *, source: str, kind: str, location: str, item: str = "",
              max_bytes: int = MAX_MESSAGE_BYTES) -> SourceItem:
    """Parse one raw e-mail into a SourceItem; a failure keeps the raw bytes for the quarantine."""
    ref = f"{location}:{item}" if item else location
    try:
        return SourceItem(source, kind, location, item, parse_eml(data, source=source, raw_ref=ref, max_bytes=max_bytes))
    except IngestError as exc:
        ids = message_ids(_header_block(data))
        return SourceItem(source, kind, location, item, exc, payload=data if len(data) <= max_bytes else None,
                          message_id=ids[0] if ids else None)


def _header_block(data: bytes) -> str:
    head = data[:65536].split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    match = re.search(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", head, re.IGNORECASE | re.MULTILINE)
    return match.group(1).decode("ascii", "replace") if match else ""


def read_eml_folder(folder: Path, *, source: str = "maildrop", max_bytes: int = MAX_MESSAGE_BYTES) -> Iterator[SourceItem]:
    """Each .eml file in a folder (sorted by name) as a SourceItem: its message, None (auto-reply) or the error."""
    if not folder.is_dir():
        raise IngestError(f"mail folder not found: {folder}")
    for path in sorted(folder.glob("*.eml")):
        yield read_eml_file(path, source=source, max_bytes=max_bytes)


def read_eml_file(path: Path, *, source: str, max_bytes: int = MAX_MESSAGE_BYTES) -> SourceItem:
    try:
        size = path.stat().st_size
        if size > max_bytes:  # not even read into memory
            raise IngestError(f"message is {size / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit")
        data = path.read_bytes()
    except (OSError, IngestError) as exc:
        return SourceItem(source, "eml", str(path), "", exc if isinstance(exc, IngestError) else IngestError(str(exc)))
    return mail_item(data, source=source, kind="eml", location=str(path), max_bytes=max_bytes)


def read_call_log(path: Path, *, source: str = "vendor_a") -> Iterator[SourceItem]:
    """Each row of a vendor-A call-log CSV (semicolon-separated, local Swedish time) as a SourceItem."""
    # Imported here because pipeline.calllogs builds on this module.
    from pipeline.calllogs import VENDOR_A, read_call_csv

    yield from read_call_csv(path, VENDOR_A.model_copy(update={"name": source}))


def store_messages(items: Iterable[SourceItem], store: CaseStore, *, batch_size: int = 200) -> IngestReport:
    """Store what a reader yields, in batches of one transaction each; auto-replies are counted and skipped.

    Every failure becomes a quarantine entry with its reason and reference, and an item that is read successfully
    resolves an open quarantine entry for the same reference. A crash loses at most the uncommitted batch, which
    a re-run reads again (the store skips what it has). A batch the database refuses is stored message by message,
    so one message it cannot take goes to quarantine instead of stopping every run at the same place."""
    from pipeline.quarantine import Quarantine  # the quarantine's table lives beside the store's

    quarantine = Quarantine(store.engine)
    batch: list[tuple[SourceItem, StoredMessage]] = []
    done: list[SourceItem] = []
    failed: list[tuple[str, str]] = []
    read = autos = stored = resolved = 0

    def put(entry: SourceItem, reason: str) -> None:
        # A reason may quote the input (a header that is really a data row, a misplaced value): redacted, since
        # reasons are printed and logged.
        reason = redact(reason)
        failed.append((entry.ref, reason))
        quarantine.put(entry, reason)

    def flush() -> None:
        nonlocal stored, resolved
        try:
            stored += store.add_messages(message for _, message in batch)
        except SQLAlchemyError:
            for entry, message in batch:
                try:
                    stored += store.add_messages([message])
                except SQLAlchemyError as exc:
                    done.remove(entry)
                    put(replace(entry, result=IngestError(str(exc))),
                        f"the case store refused it: {str(getattr(exc, 'orig', None) or exc).splitlines()[0]}")
        resolved += quarantine.resolve((entry.source, entry.ref) for entry in done)
        batch.clear()
        done.clear()

    for entry in items:
        read += 1
        result = entry.result
        if isinstance(result, Exception):
            put(entry, str(result))
            continue
        if result is None:
            autos += 1
        else:
            batch.append((entry, result))
        done.append(entry)
        if len(done) >= batch_size:
            flush()
    flush()
    return IngestReport(read=read, stored=stored, skipped_auto_replies=autos, failed=failed, resolved=resolved)
