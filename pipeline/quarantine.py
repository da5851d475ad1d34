"""The quarantine: input that could not be read, with its reason and where it came from, kept until it is fixed.

An entry is keyed by source and reference (file and line, record, mailbox key or IMAP UID). It is resolved when a
later run reads the same reference successfully; `retry` re-reads open entries from their source when it is still
there (a fixed file), else from the raw bytes kept with the entry (for IMAP, or after a parser fix).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Integer, LargeBinary, String, Text, UniqueConstraint, func, select, tuple_, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from pipeline.ingest import EMPTY_REPORT, IngestError, IngestReport, SourceItem, mail_item, read_eml_file, store_messages
from pipeline.store import Base, CaseStore

# Raw input kept for a retry is capped; larger items are retried from their source only.
MAX_PAYLOAD_BYTES = 25 * 1024 * 1024


class QuarantineRow(Base):
    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("source", "ref", name="uq_quarantine_source_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(Text)
    item: Mapped[str] = mapped_column(String(200))
    ref: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(512))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


@dataclass(frozen=True)
class QuarantineEntry:
    id: int
    source: str
    kind: str
    location: str
    item: str
    ref: str
    message_id: str | None
    reason: str
    has_payload: bool
    attempts: int
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None


def _now() -> datetime:
    return datetime.now(UTC)


class Quarantine:
    """Quarantine entries in the case store (same database, table `quarantine`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, item: SourceItem, reason: str) -> None:
        """Record a failure; the same reference failing again reopens its entry and counts the attempt."""
        payload = item.payload if item.payload is not None and len(item.payload) <= MAX_PAYLOAD_BYTES else None
        message_id = item.message_id[:512] if item.message_id else None
        with Session(self.engine) as session, session.begin():
            row = session.scalar(
                select(QuarantineRow).where(QuarantineRow.source == item.source, QuarantineRow.ref == item.ref)
            )
            if row is None:
                # Cut to the columns' sizes: a quarantine entry must never fail on the input it records.
                session.add(QuarantineRow(source=item.source[:200], kind=item.kind, location=item.location,
                                          item=item.item[:200], ref=item.ref, message_id=message_id, reason=reason,
                                          payload=payload,
                                          attempts=1, first_seen=_now(), last_seen=_now()))
                return
            row.reason, row.attempts, row.last_seen, row.resolved_at = reason, row.attempts + 1, _now(), None
            if payload is not None:
                row.payload = payload
            row.message_id = message_id or row.message_id

    def resolve(self, refs: Iterable[tuple[str, str]]) -> int:
        """Mark the open entries for these (source, ref) pairs resolved; returns how many there were."""
        pairs = list(dict.fromkeys(refs))
        if not pairs:
            return 0
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(QuarantineRow)
                .where(QuarantineRow.resolved_at.is_(None), tuple_(QuarantineRow.source, QuarantineRow.ref).in_(pairs))
                .values(resolved_at=_now())
                .execution_options(synchronize_session=False)
            )
            return result.rowcount or 0

    def dismiss(self, entry_ids: Iterable[int], note: str) -> int:
        """Close open entries by hand (the input was re-sent another way, or is not an inquiry); the note says why."""
        ids = list(entry_ids)
        with Session(self.engine) as session, session.begin():
            rows = list(session.scalars(select(QuarantineRow).where(QuarantineRow.id.in_(ids),
                                                                    QuarantineRow.resolved_at.is_(None))))
            for row in rows:
                row.resolved_at, row.reason = _now(), f"dismissed: {note} (was: {row.reason})"
            return len(rows)

    def entries(self, *, include_resolved: bool = False, source: str | None = None) -> list[QuarantineEntry]:
        query = select(QuarantineRow, QuarantineRow.payload.is_not(None)).order_by(QuarantineRow.id)
        if not include_resolved:
            query = query.where(QuarantineRow.resolved_at.is_(None))
        if source:
            query = query.where(QuarantineRow.source == source)
        with Session(self.engine) as session:
            return [_entry(row, bool(has_payload)) for row, has_payload in session.execute(query)]

    def open_count(self) -> int:
        with Session(self.engine) as session:
            return session.scalar(select(func.count()).where(QuarantineRow.resolved_at.is_(None))) or 0

    def payload(self, entry_id: int) -> bytes | None:
        with Session(self.engine) as session:
            return session.scalar(select(QuarantineRow.payload).where(QuarantineRow.id == entry_id))


def _entry(row: QuarantineRow, has_payload: bool) -> QuarantineEntry:
    as_utc = lambda value: value if value is None or value.tzinfo else value.replace(tzinfo=UTC)  # noqa: E731 - SQLite
    return QuarantineEntry(id=row.id, source=row.source, kind=row.kind, location=row.location, item=row.item,
                           ref=row.ref, message_id=row.message_id, reason=row.reason, has_payload=has_payload,
                           attempts=row.attempts, first_seen=as_utc(row.first_seen), last_seen=as_utc(row.last_seen),
                           resolved_at=as_utc(row.resolved_at))


# --- retry -----------------------------------------------------------------------------------------------------

# Re-reads a whole file-backed location with its source's reader: (source name, kind, location) -> items.
LocationReader = Callable[[str, str, str], Iterator[SourceItem]]
# Re-parses one entry from the raw bytes kept with it: (entry, payload) -> item.
PayloadReader = Callable[[QuarantineEntry, bytes], SourceItem]


def retry(store: CaseStore, read_location: LocationReader, read_payload: PayloadReader,
          *, source: str | None = None) -> tuple[IngestReport, int]:
    """Re-process every open entry (of one source, or all). Returns the ingest report and how many stay open.

    A location that still exists is read again as a whole with its source's reader, so a fixed file is picked up
    (the store skips what it already has, and every reference that now reads resolves its entry). Entries whose
    location is gone, or that came over IMAP, are re-parsed from their kept raw bytes."""
    quarantine = Quarantine(store.engine)
    open_entries = quarantine.entries(source=source)
    groups: dict[tuple[str, str, str], list[QuarantineEntry]] = defaultdict(list)
    for entry in open_entries:
        groups[(entry.source, entry.kind, entry.location)].append(entry)
    report = EMPTY_REPORT
    for (name, kind, location), entries in groups.items():
        if kind != "imap" and Path(location).exists():
            try:
                again = store_messages(read_location(name, kind, location), store)
            except IngestError:
                pass  # the location cannot be read as a whole any more; fall back to the kept bytes
            else:
                # Read through without a problem of the whole file (a header, a cut-off end): that entry goes too.
                whole = 0 if any(ref == location for ref, _ in again.failed) else quarantine.resolve([(name, location)])
                report += again + IngestReport(0, 0, 0, [], whole)
                continue
        items = [read_payload(entry, payload) for entry in entries
                 if (payload := quarantine.payload(entry.id)) is not None]
        report += store_messages(items, store)
    return report, len(quarantine.entries(source=source))


def read_mail_location(source: str, kind: str, location: str) -> Iterator[SourceItem]:
    """Mail locations: an .eml file, an mbox file or a Maildir (all of it, the store skips what it has)."""
    from pipeline.mailboxes import read_maildir, read_mbox

    if kind == "eml":
        yield read_eml_file(Path(location), source=source)
    elif kind == "mbox":
        yield from read_mbox(Path(location), source=source)
    elif kind == "maildir":
        yield from read_maildir(Path(location), source=source)
    else:
        raise IngestError(f"no reader for {kind} at {location}")


def mail_from_payload(entry: QuarantineEntry, payload: bytes) -> SourceItem:
    return mail_item(payload, source=entry.source, kind=entry.kind, location=entry.location, item=entry.item)


def sources_readers(call_sources: Mapping[str, object]) -> tuple[LocationReader, PayloadReader]:
    """Readers for retry that know the configured call-log sources (by name) besides the mail kinds."""
    from pipeline.calllogs import call_item_from_payload, read_call_source
    from pipeline.sources import CallLogSource

    def read_location(name: str, kind: str, location: str) -> Iterator[SourceItem]:
        if kind in ("call_csv", "call_json"):
            config = call_sources.get(name)
            if not isinstance(config, CallLogSource):
                raise IngestError(f"no call-log source named '{name}' in configs/sources")
            return read_call_source(Path(location), config)
        return read_mail_location(name, kind, location)

    def read_payload(entry: QuarantineEntry, payload: bytes) -> SourceItem:
        if entry.kind in ("call_csv", "call_json"):
            config = call_sources.get(entry.source)
            if not isinstance(config, CallLogSource):
                return SourceItem(entry.source, entry.kind, entry.location, entry.item,
                                  IngestError(f"no call-log source named '{entry.source}' in configs/sources"), payload)
            return call_item_from_payload(entry.location, entry.item, payload, config)
        return mail_from_payload(entry, payload)

    return read_location, read_payload
