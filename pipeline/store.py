"""The case store: inquiries (raw and redacted) and their cases, on SQLite or PostgreSQL via SQLAlchemy 2."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    false,
    func,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from pipeline.domain import Case, CaseState, Channel, Inquiry, Prediction, RoutingDecision
from pipeline.monitoring import CaseSnapshot

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
OPEN_STATES = (CaseState.ROUTED, CaseState.CLAIMED, CaseState.REROUTED)


class Base(DeclarativeBase):
    pass


class InquiryRow(Base):
    __tablename__ = "inquiries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(512), unique=True)
    source: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(10))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sender: Mapped[str | None] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(10))
    raw_ref: Mapped[str | None] = mapped_column(Text)
    raw_sender: Mapped[str | None] = mapped_column(String(500))
    raw_subject: Mapped[str | None] = mapped_column(Text)
    raw_body: Mapped[str] = mapped_column(Text)
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # --- threads and details (migration 0002) ---
    message_id: Mapped[str | None] = mapped_column(String(512), index=True)
    # The case this inquiry belongs to: its own, or that of the thread it answers. Not a foreign key, so the two
    # tables do not reference each other in a cycle.
    case_id: Mapped[str | None] = mapped_column(String(64), index=True)
    details: Mapped[dict | None] = mapped_column(JSON)

    case: Mapped[CaseRow] = relationship(back_populates="inquiry", uselist=False)


class CaseRow(Base):
    __tablename__ = "cases"
    # Migration 0003: queue listings and claim-next read one queue's open cases in priority/due order.
    __table_args__ = (Index("ix_cases_queue_order", "queue", "state", "priority", "due_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    inquiry_id: Mapped[str] = mapped_column(ForeignKey("inquiries.id"), unique=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    topic: Mapped[str | None] = mapped_column(String(40))
    urgency: Mapped[str | None] = mapped_column(String(10))
    topic_confidence: Mapped[float | None] = mapped_column(Float)
    urgency_confidence: Mapped[float | None] = mapped_column(Float)
    prediction: Mapped[dict | None] = mapped_column(JSON)
    model_version: Mapped[str | None] = mapped_column(String(200))
    queue: Mapped[str | None] = mapped_column(String(100), index=True)
    priority: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    needs_review: Mapped[bool | None] = mapped_column(Boolean)
    routing: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Migration 0003: visibility, the handler who holds the case, resolution, human corrections.
    restricted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    claimed_by: Mapped[str | None] = mapped_column(String(100), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    human_topic: Mapped[str | None] = mapped_column(String(40))
    human_urgency: Mapped[str | None] = mapped_column(String(10))

    inquiry: Mapped[InquiryRow] = relationship(back_populates="case")


# --- users, sessions, audit log and feedback labels (migration 0003) -----------------------------------------


class UserRow(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SessionRow(Base):
    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_kind: Mapped[str] = mapped_column(String(10))  # "model" (actor = model version) or "user" (username)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict] = mapped_column(JSON)


class LabelRow(Base):
    """A human correction of the model: a training label for the next model."""

    __tablename__ = "feedback_labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    username: Mapped[str] = mapped_column(String(100))
    field: Mapped[str] = mapped_column(String(20))  # "topic", "urgency" or "queue"
    old_value: Mapped[str | None] = mapped_column(String(100))
    new_value: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(200))


@dataclass(frozen=True)
class StoredMessage:
    """An inquiry ready for the store: its redacted form plus the raw text that only the store keeps."""

    inquiry: Inquiry
    external_id: str
    raw_sender: str | None
    raw_subject: str | None
    raw_body: str
    # Threads and metadata (migration 0002): the e-mail's Message-ID, the ids it answers (References and
    # In-Reply-To), and details that are recorded but never classified (attachments, call agent and duration).
    message_id: str | None = None
    references: tuple[str, ...] = ()
    details: dict | None = None


@dataclass(frozen=True)
class QueueCount:
    queue: str
    open_cases: int
    urgent: int
    needs_review: int


def migrate(url: str) -> None:
    """Bring the schema at `url` to the newest revision (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    command.upgrade(config, "head")


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url, future=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime) -> datetime:
    # SQLite returns naive datetimes; everything is stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class CaseStore:
    """Repository over the case store. Create with a SQLAlchemy URL; call `migrate()` once before use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    def migrate(self) -> None:
        migrate(self.url)

    def add_messages(self, messages: Iterable[StoredMessage]) -> int:
        """Store new inquiries, each with a case in state `new`; ones already stored are skipped. Returns new count."""
        added = 0
        messages = list(messages)
        with Session(self.engine) as session, session.begin():
            # One query for the whole batch; the set also catches a message twice in the same batch.
            known = set(session.scalars(select(InquiryRow.external_id).where(
                InquiryRow.external_id.in_([m.external_id for m in messages])))) if messages else set()
            for message in messages:
                if message.external_id in known:
                    continue
                known.add(message.external_id)
                inquiry = message.inquiry
                case_id = _thread_case(session, message) or inquiry.id
                session.add(
                    InquiryRow(
                        id=inquiry.id,
                        external_id=message.external_id,
                        source=inquiry.source,
                        channel=inquiry.channel.value,
                        received_at=inquiry.received_at,
                        sender=inquiry.sender,
                        subject=inquiry.subject,
                        body=inquiry.body,
                        language=inquiry.language,
                        raw_ref=inquiry.raw_ref,
                        raw_sender=message.raw_sender,
                        raw_subject=message.raw_subject,
                        raw_body=message.raw_body,
                        ingested_at=_now(),
                        message_id=message.message_id,
                        case_id=case_id,
                        details=message.details,
                    )
                )
                if case_id == inquiry.id:  # a reply joins its thread's case instead of opening one
                    session.add(CaseRow(id=inquiry.id, inquiry_id=inquiry.id, state=CaseState.NEW.value,
                                        updated_at=_now()))
                added += 1
        return added

    def new_inquiries(self, limit: int | None = None) -> list[Inquiry]:
        """Inquiries whose case has not been routed yet, oldest first."""
        query = (
            select(InquiryRow)
            .join(CaseRow)
            .where(CaseRow.state == CaseState.NEW.value)
            .order_by(InquiryRow.received_at, InquiryRow.id)
            .limit(limit)
        )
        with Session(self.engine) as session:
            return [_to_inquiry(row) for row in session.scalars(query)]

    def record_routing(self, case_id: str, prediction: Prediction, decision: RoutingDecision) -> None:
        """Store a prediction and its routing; a case that has already left state `new` is left untouched."""
        with Session(self.engine) as session, session.begin():
            row = session.get(CaseRow, case_id, with_for_update=True)
            if row is None:
                raise KeyError(f"no case {case_id}")
            if row.state != CaseState.NEW.value:
                return
            received_at = _as_utc(row.inquiry.received_at)
            row.state = CaseState.ROUTED.value
            row.topic, row.urgency = prediction.topic, prediction.urgency
            row.topic_confidence, row.urgency_confidence = prediction.topic_confidence, prediction.urgency_confidence
            row.prediction = prediction.model_dump(mode="json")
            row.model_version = prediction.model_version
            row.queue, row.priority, row.needs_review = decision.queue, decision.priority, decision.needs_review
            row.due_at = received_at + timedelta(hours=decision.sla_hours)
            row.routing = decision.model_dump(mode="json")
            row.updated_at = _now()
            row.restricted = decision.restricted
            session.add(AuditRow(case_id=case_id, at=row.updated_at, actor_kind="model", actor=prediction.model_version,
                                 action="routed", detail={"queue": decision.queue, "topic": prediction.topic,
                                                          "urgency": prediction.urgency, "restricted": decision.restricted,
                                                          "mapping_version": decision.mapping_version}))

    def queue_counts(self) -> list[QueueCount]:
        """Open cases per queue, with how many are akut and how many await manual review."""
        query = (
            select(
                CaseRow.queue,
                func.count(),
                func.sum((CaseRow.urgency == "akut").cast(Integer)),
                func.sum(CaseRow.needs_review.cast(Integer)),
            )
            .where(CaseRow.state.in_([s.value for s in OPEN_STATES]))
            .group_by(CaseRow.queue)
            .order_by(CaseRow.queue)
        )
        with Session(self.engine) as session:
            return [QueueCount(q, n, int(u or 0), int(r or 0)) for q, n, u, r in session.execute(query)]

    def list_queue(self, queue: str, limit: int = 50) -> list[Case]:
        """Open cases of one queue, most urgent first, then by due time."""
        query = (
            select(CaseRow)
            .where(CaseRow.queue == queue, CaseRow.state.in_([s.value for s in OPEN_STATES]))
            .order_by(CaseRow.priority, CaseRow.due_at, CaseRow.id)
            .limit(limit)
        )
        with Session(self.engine) as session:
            return [_to_case(row) for row in session.scalars(query)]

    def count_by_state(self) -> dict[str, int]:
        with Session(self.engine) as session:
            rows = session.execute(select(CaseRow.state, func.count()).group_by(CaseRow.state))
            return {state: n for state, n in rows}

    def raw_original(self, inquiry_id: str) -> tuple[str | None, str | None, str]:
        """Sender, subject and body as received, unredacted: only the case store holds these."""
        with Session(self.engine) as session:
            row = session.get(InquiryRow, inquiry_id)
            if row is None:
                raise KeyError(f"no inquiry {inquiry_id}")
            return row.raw_sender, row.raw_subject, row.raw_body

    # --- threads (migration 0002) ---

    def case_of(self, inquiry_id: str) -> str | None:
        """The case an inquiry belongs to (its own, or the one of the thread it answers)."""
        with Session(self.engine) as session:
            return session.scalar(select(InquiryRow.case_id).where(InquiryRow.id == inquiry_id))

    def thread(self, case_id: str) -> list[Inquiry]:
        """Every inquiry of a case, the one that opened it first, then the replies in the order they came."""
        query = select(InquiryRow).where(InquiryRow.case_id == case_id).order_by(InquiryRow.received_at, InquiryRow.id)
        with Session(self.engine) as session:
            return [_to_inquiry(row) for row in session.scalars(query)]

    def details(self, inquiry_id: str) -> dict | None:
        """What was recorded beside the text: attachments (name, type, size), call agent, reason and duration."""
        with Session(self.engine) as session:
            return session.scalar(select(InquiryRow.details).where(InquiryRow.id == inquiry_id))

    def dispose(self) -> None:
        self.engine.dispose()

    # --- monitoring ---

    def routed_snapshots(self, since: datetime, until: datetime | None = None) -> list[CaseSnapshot]:
        """Routed cases of inquiries ingested in [since, until), as monitoring reads them (no text). A case counts
        as rerouted when it is in state `rerouted` or its queue differs from the one routing first chose."""
        query = (
            select(CaseRow)
            .join(InquiryRow)
            .where(CaseRow.state != CaseState.NEW.value, CaseRow.topic.is_not(None), InquiryRow.ingested_at >= since)
            .order_by(CaseRow.id)
        )
        if until is not None:
            query = query.where(InquiryRow.ingested_at < until)
        with Session(self.engine) as session:
            return [
                CaseSnapshot(
                    topic=row.topic or "", urgency=row.urgency or "", topic_confidence=row.topic_confidence or 0.0,
                    needs_review=bool(row.needs_review), first_queue=(row.routing or {}).get("queue", row.queue or ""),
                    rerouted=row.state == CaseState.REROUTED.value or row.queue != (row.routing or {}).get("queue", row.queue),
                )
                for row in session.scalars(query)
            ]


def _thread_case(session: Session, message: StoredMessage) -> str | None:
    """The existing case a message answers: by In-Reply-To/References, else by a case number in its subject."""
    from pipeline.threads import case_id_prefixes  # threads.py builds on the store's types

    if message.references:
        found = session.execute(
            select(InquiryRow.message_id, InquiryRow.case_id).where(InquiryRow.message_id.in_(message.references))
        ).all()
        by_id = {message_id: case_id for message_id, case_id in found if case_id}
        for reference in reversed(message.references):  # the nearest ancestor first
            if reference in by_id:
                return by_id[reference]
    for prefix in case_id_prefixes(message.raw_subject or ""):
        case_id = session.scalar(select(CaseRow.id).where(CaseRow.id.startswith(prefix)).limit(1))
        if case_id is not None:
            return case_id
    return None


def _to_inquiry(row: InquiryRow) -> Inquiry:
    return Inquiry(
        id=row.id,
        source=row.source,
        channel=Channel(row.channel),
        received_at=_as_utc(row.received_at),
        sender=row.sender,
        subject=row.subject,
        body=row.body,
        language=row.language,
        raw_ref=row.raw_ref,
    )


def _to_case(row: CaseRow) -> Case:
    return Case(
        id=row.id,
        inquiry=_to_inquiry(row.inquiry),
        state=CaseState(row.state),
        prediction=Prediction.model_validate(row.prediction) if row.prediction else None,
        routing=RoutingDecision.model_validate(row.routing) if row.routing else None,
    )


def open_store(url: str) -> CaseStore:
    """A migrated store, ready for use."""
    store = CaseStore(url)
    store.migrate()
    return store

