"""Case work on the queues: what a handler may see, claiming (safe under concurrent workers), releasing,
rerouting, changing urgency, resolving, the audit log, and the feedback labels that human corrections leave.

Access rules (the web app and API enforce them through this module only):
- a handler works (claims, reroutes, resolves) only the cases in their own department's queues;
- a restricted case (sensitive topic) is visible only to the department that owns its queue: to everyone
  else it is forbidden, and it is left out of every list, count and search;
- the unredacted text is shown only to role `handlaggare` on their own department's cases.

Human corrections are final: a later model prediction updates the model's record of a case but never the
topic, queue or urgency a person chose."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Integer, Select, event, false, func, or_, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, contains_eager

from pipeline.config import TenantConfig
from pipeline.corpus import content_id
from pipeline.domain import CaseState, Prediction, RoutingDecision
from pipeline.store import OPEN_STATES, AuditRow, CaseRow, InquiryRow, LabelRow, make_engine
from pipeline.users import User

RESOLUTION_CODES = ("informerat", "kopplat", "eskalerat")
WAITING_STATES = (CaseState.ROUTED.value, CaseState.REROUTED.value)
_OPEN = [state.value for state in OPEN_STATES]
SNIPPET_CHARS = 140
# Claim-next retries when another worker took the candidate first (only SQLite can get there; PostgreSQL
# skips locked rows instead).
CLAIM_ATTEMPTS = 20


class CaseworkError(ValueError):
    """Base of the errors an action on a case can end in; the message says why."""


class CaseNotFound(CaseworkError):
    pass


class Forbidden(CaseworkError):
    pass


class Conflict(CaseworkError):
    """The case is not in a state that allows the action (claimed by someone else, already resolved)."""


class InvalidChange(CaseworkError):
    """An unknown queue, topic, urgency or resolution code."""


def work_engine(url: str) -> Engine:
    """An engine for case work. On SQLite: WAL (readers do not wait for the writer), a generous busy timeout,
    and write transactions that take the write lock at BEGIN, so two claims cannot both read a case as free."""
    engine = make_engine(url)
    if make_url(url).get_backend_name() != "sqlite":
        return engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's begin event below issues BEGIN itself
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass(frozen=True)
class Viewer:
    """A signed-in handler with the queues of their department."""

    user: User
    queues: frozenset[str]

    def can_see(self, row: CaseRow) -> bool:
        return not row.restricted or row.queue in self.queues

    def can_work(self, row: CaseRow) -> bool:
        return row.queue in self.queues

    def sees_raw(self, row: CaseRow) -> bool:
        return self.user.sees_raw_text and self.can_work(row)


class CaseSummary(BaseModel):
    id: str
    state: str
    queue: str | None
    topic: str | None
    urgency: str | None
    priority: int | None
    due_at: datetime | None
    received_at: datetime
    channel: str
    subject: str | None
    snippet: str
    topic_confidence: float | None
    needs_review: bool | None
    restricted: bool
    claimed_by: str | None
    language: str | None = None
    top_topics: list[tuple[str, float]] = []


class AuditEntry(BaseModel):
    at: datetime
    actor_kind: str
    actor: str
    action: str
    detail: dict[str, Any]


class CaseDetail(CaseSummary):
    department: str | None
    sender: str | None
    body: str
    text_is_raw: bool
    urgency_confidence: float | None
    model_version: str | None
    human_topic: str | None
    human_urgency: str | None
    resolution: str | None
    prediction: dict[str, Any] | None
    routing: dict[str, Any] | None
    can_work: bool


class QueueSummary(BaseModel):
    queue: str
    name: str
    open_cases: int
    akut: int
    needs_review: int
    unclaimed: int


def _utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _summary_fields(row: CaseRow) -> dict[str, Any]:
    inquiry = row.inquiry
    top = (row.routing or {}).get("prediction_summary", {}).get("top_topics", [])
    return {
        "id": row.id, "state": row.state, "queue": row.queue, "topic": row.topic, "urgency": row.urgency,
        "priority": row.priority, "due_at": _utc(row.due_at), "received_at": _utc(inquiry.received_at),
        "channel": inquiry.channel, "subject": inquiry.subject, "language": inquiry.language,
        "snippet": " ".join(inquiry.body.split())[:SNIPPET_CHARS], "topic_confidence": row.topic_confidence,
        "needs_review": row.needs_review, "restricted": bool(row.restricted), "claimed_by": row.claimed_by,
        "top_topics": [(str(code), float(p)) for code, p in top],
    }


class CaseWork:
    """Queue operations for signed-in handlers over the case store of one municipality."""

    def __init__(self, engine: Engine, tenant: TenantConfig) -> None:
        self.engine = engine
        self.tenant = tenant
        self._postgres = engine.dialect.name == "postgresql"
        self._writer = engine.execution_options(sqlite_immediate=True)

    # --- who sees what -----------------------------------------------------------------------------------------

    def viewer(self, user: User) -> Viewer:
        return Viewer(user, frozenset(self.tenant.department_queues.get(user.department, [])))

    @staticmethod
    def _visible(viewer: Viewer) -> Any:
        return or_(CaseRow.restricted == false(), CaseRow.queue.in_(sorted(viewer.queues)))

    def _read(self) -> Session:
        return Session(self.engine)

    def _write(self) -> Session:
        return Session(self._writer)

    def _visible_row(self, session: Session, viewer: Viewer, case_id: str, lock: bool = False) -> CaseRow:
        row = session.get(CaseRow, case_id, with_for_update=lock and self._postgres)
        if row is None:
            raise CaseNotFound(f"no case {case_id}")
        if not viewer.can_see(row):
            raise Forbidden(f"case {case_id} is restricted to another department")
        return row

    def _workable_row(self, session: Session, viewer: Viewer, case_id: str) -> CaseRow:
        row = self._visible_row(session, viewer, case_id, lock=True)
        if not viewer.can_work(row):
            raise Forbidden(f"case {case_id} is in queue {row.queue}, which your department does not work")
        if row.state == CaseState.RESOLVED.value:
            raise Conflict(f"case {case_id} is already resolved")
        return row

    # --- lists -------------------------------------------------------------------------------------------------

    def _open_cases(self, viewer: Viewer) -> Select[tuple[CaseRow]]:
        # contains_eager: the summary reads the inquiry of every row; one joined query instead of one per case.
        return (select(CaseRow).join(InquiryRow).options(contains_eager(CaseRow.inquiry))
                .where(CaseRow.state.in_(_OPEN), self._visible(viewer))
                .order_by(CaseRow.priority, CaseRow.due_at, CaseRow.id))

    def my_queue(self, viewer: Viewer, limit: int = 100) -> list[CaseSummary]:
        """Open cases of the viewer's department, most urgent priority first, then the nearest SLA deadline."""
        return self._summaries(self._open_cases(viewer).where(CaseRow.queue.in_(sorted(viewer.queues))).limit(limit))

    def list_queue(self, viewer: Viewer, queue: str, limit: int = 100) -> list[CaseSummary]:
        if queue not in self.tenant.queues:
            raise InvalidChange(f"unknown queue '{queue}'")
        return self._summaries(self._open_cases(viewer).where(CaseRow.queue == queue).limit(limit))

    def search(self, viewer: Viewer, text: str, limit: int = 50) -> list[CaseSummary]:
        """Cases whose id, redacted subject or redacted body contains `text`, among those the viewer may see."""
        pattern = f"%{text.strip()}%"
        query = (select(CaseRow).join(InquiryRow).options(contains_eager(CaseRow.inquiry)).where(self._visible(viewer))
                 .where(or_(CaseRow.id == text.strip(), InquiryRow.subject.ilike(pattern), InquiryRow.body.ilike(pattern)))
                 .order_by(InquiryRow.received_at.desc(), CaseRow.id).limit(limit))
        return self._summaries(query)

    def _summaries(self, query: Select[tuple[CaseRow]]) -> list[CaseSummary]:
        with self._read() as session:
            return [CaseSummary(**_summary_fields(row)) for row in session.scalars(query)]

    def queue_summaries(self, viewer: Viewer) -> list[QueueSummary]:
        """Open cases per queue, counting only cases the viewer may see."""
        query = (
            select(CaseRow.queue, func.count(), func.sum((CaseRow.urgency == "akut").cast(Integer)),
                   func.sum(CaseRow.needs_review.cast(Integer)), func.sum(CaseRow.claimed_by.is_(None).cast(Integer)))
            .where(CaseRow.state.in_(_OPEN), self._visible(viewer)).group_by(CaseRow.queue)
        )
        with self._read() as session:
            counts = {queue: (n, int(a or 0), int(r or 0), int(u or 0)) for queue, n, a, r, u in session.execute(query)}
        fields = ("open_cases", "akut", "needs_review", "unclaimed")
        return [QueueSummary(queue=queue, name=name, **dict(zip(fields, counts.get(queue, (0, 0, 0, 0)), strict=True)))
                for queue, name in self.tenant.queues.items()]

    def get(self, viewer: Viewer, case_id: str) -> CaseDetail:
        with self._read() as session:
            row = self._visible_row(session, viewer, case_id)
            inquiry, raw = row.inquiry, viewer.sees_raw(row)
            fields = _summary_fields(row)
            if raw:
                fields["subject"] = inquiry.raw_subject
            return CaseDetail(
                **fields, department=self.tenant.department_of(row.queue or ""),
                sender=inquiry.raw_sender if raw else inquiry.sender,
                body=inquiry.raw_body if raw else inquiry.body, text_is_raw=raw,
                urgency_confidence=row.urgency_confidence, model_version=row.model_version,
                human_topic=row.human_topic, human_urgency=row.human_urgency, resolution=row.resolution,
                prediction=row.prediction, routing=row.routing, can_work=viewer.can_work(row),
            )

    def redacted_text(self, case_id: str) -> tuple[str, str | None, str]:
        """Channel, redacted subject and redacted body: what models may read. Callers check access first."""
        with self._read() as session:
            row = session.get(InquiryRow, case_id)
            if row is None:
                raise CaseNotFound(f"no case {case_id}")
            return row.channel, row.subject, row.body

    def reread(self, viewer: Viewer, case_id: str) -> CaseDetail | None:
        """The case as the viewer sees it now, or None when it has left their sight (a restricted case rerouted
        to another department)."""
        try:
            return self.get(viewer, case_id)
        except Forbidden:
            return None

    def audit_trail(self, viewer: Viewer, case_id: str) -> list[AuditEntry]:
        with self._read() as session:
            self._visible_row(session, viewer, case_id)
            rows = session.scalars(select(AuditRow).where(AuditRow.case_id == case_id).order_by(AuditRow.at, AuditRow.id))
            return [AuditEntry(at=_utc(r.at), actor_kind=r.actor_kind, actor=r.actor, action=r.action, detail=r.detail)
                    for r in rows]

    # --- actions -----------------------------------------------------------------------------------------------

    @staticmethod
    def _audit(session: Session, row: CaseRow, viewer: Viewer, action: str, **detail: Any) -> None:
        row.updated_at = _now()
        session.add(AuditRow(case_id=row.id, at=row.updated_at, actor_kind="user", actor=viewer.user.username,
                             action=action, detail=detail))

    def claim(self, viewer: Viewer, case_id: str) -> CaseDetail:
        with self._write() as session, session.begin():
            row = self._workable_row(session, viewer, case_id)
            if row.claimed_by is not None and row.claimed_by != viewer.user.username:
                raise Conflict(f"case {case_id} is already claimed by {row.claimed_by}")
            if row.claimed_by is None:
                if not self._take(session, case_id, viewer):
                    raise Conflict(f"case {case_id} was claimed by someone else just now")
                self._audit(session, row, viewer, "claimed", queue=row.queue)
        return self.get(viewer, case_id)

    def claim_next(self, viewer: Viewer, queue: str) -> CaseDetail | None:
        """Claim the most urgent unclaimed case of a queue. Concurrent workers never get the same case: on
        PostgreSQL the candidate row is locked and rows locked by others are skipped (FOR UPDATE SKIP LOCKED);
        everywhere the claim is a conditional update that only succeeds while the case is still unclaimed."""
        if queue not in viewer.queues:
            raise Forbidden(f"queue {queue} is not one of your department's queues")
        for _ in range(CLAIM_ATTEMPTS):
            with self._write() as session, session.begin():
                candidate = (select(CaseRow.id)
                             .where(CaseRow.queue == queue, CaseRow.state.in_(WAITING_STATES), CaseRow.claimed_by.is_(None))
                             .order_by(CaseRow.priority, CaseRow.due_at, CaseRow.id).limit(1))
                if self._postgres:
                    candidate = candidate.with_for_update(skip_locked=True)
                case_id = session.scalar(candidate)
                if case_id is None:
                    return None
                if not self._take(session, case_id, viewer):
                    continue
                row = session.get(CaseRow, case_id)
                assert row is not None
                self._audit(session, row, viewer, "claimed", queue=queue, via="next")
            return self.get(viewer, case_id)
        raise Conflict(f"could not claim from {queue}: other workers kept taking the candidates")

    @staticmethod
    def _take(session: Session, case_id: str, viewer: Viewer) -> bool:
        result = session.execute(
            update(CaseRow)
            .where(CaseRow.id == case_id, CaseRow.claimed_by.is_(None), CaseRow.state.in_(WAITING_STATES))
            .values(claimed_by=viewer.user.username, claimed_at=_now(), state=CaseState.CLAIMED.value)
            .execution_options(synchronize_session="fetch")
        )
        return result.rowcount == 1

    def release(self, viewer: Viewer, case_id: str) -> CaseDetail:
        with self._write() as session, session.begin():
            row = self._workable_row(session, viewer, case_id)
            if row.claimed_by != viewer.user.username:
                raise Conflict(f"case {case_id} is not claimed by you")
            row.claimed_by, row.claimed_at, row.state = None, None, CaseState.ROUTED.value
            self._audit(session, row, viewer, "released")
        return self.get(viewer, case_id)

    def _check_not_held_by_other(self, row: CaseRow, viewer: Viewer) -> None:
        if row.claimed_by not in (None, viewer.user.username):
            raise Conflict(f"case {row.id} is claimed by {row.claimed_by}")

    def reroute(self, viewer: Viewer, case_id: str, queue: str | None = None, topic: str | None = None,
                note: str | None = None) -> CaseDetail | None:
        """Move a case to another queue, or give it another topic (its queue then follows today's mapping).
        A queue that only one topic maps to also sets that topic. The correction is stored as a label."""
        mapping = self.tenant.mapping_at(_now())
        if topic is not None and topic not in mapping.topics:
            raise InvalidChange(f"unknown topic '{topic}'")
        if queue is not None and queue not in self.tenant.queues:
            raise InvalidChange(f"unknown queue '{queue}'")
        if queue is None and topic is None:
            raise InvalidChange("give a queue or a topic to reroute to")
        if topic is None:
            only = [code for code, target in mapping.topics.items() if target == queue]
            topic = only[0] if len(only) == 1 else None
        target = queue or mapping.topics[topic]  # type: ignore[index]
        with self._write() as session, session.begin():
            row = self._workable_row(session, viewer, case_id)
            self._check_not_held_by_other(row, viewer)
            if target == row.queue and (topic is None or topic == row.topic):
                raise InvalidChange(f"case {case_id} is already in {target}" + (f" with topic {topic}" if topic else ""))
            old_queue, old_topic = row.queue, row.topic
            if topic is not None and topic != row.topic:
                self._label(session, row, viewer, "topic", old_topic, topic)
                row.topic, row.human_topic = topic, topic
            if target != old_queue:
                self._label(session, row, viewer, "queue", old_queue, target)
            row.queue = target
            row.restricted = bool(row.restricted) or (row.topic in self.tenant.sensitive_topics)
            row.needs_review = target == self.tenant.review_queue
            row.claimed_by, row.claimed_at, row.state = None, None, CaseState.REROUTED.value
            self._audit(session, row, viewer, "rerouted", from_queue=old_queue, to_queue=target, from_topic=old_topic,
                        to_topic=row.topic, mapping_version=mapping.version, note=note)
        return self.reread(viewer, case_id)

    def change_urgency(self, viewer: Viewer, case_id: str, urgency: str, note: str | None = None) -> CaseDetail:
        if urgency not in self.tenant.urgency:
            raise InvalidChange(f"unknown urgency '{urgency}'; use one of {', '.join(self.tenant.urgency)}")
        with self._write() as session, session.begin():
            row = self._workable_row(session, viewer, case_id)
            self._check_not_held_by_other(row, viewer)
            if urgency == row.urgency:
                raise InvalidChange(f"case {case_id} already has urgency {urgency}")
            rule = self.tenant.urgency[urgency]  # type: ignore[index]
            self._label(session, row, viewer, "urgency", row.urgency, urgency)
            old = row.urgency
            row.urgency, row.human_urgency, row.priority = urgency, urgency, rule.priority
            row.due_at = _utc(row.inquiry.received_at) + timedelta(hours=rule.sla_hours)  # type: ignore[operator]
            self._audit(session, row, viewer, "urgency_changed", from_urgency=old, to_urgency=urgency,
                        priority=rule.priority, note=note)
        return self.get(viewer, case_id)

    def resolve(self, viewer: Viewer, case_id: str, resolution: str, note: str | None = None) -> CaseDetail:
        if resolution not in RESOLUTION_CODES:
            raise InvalidChange(f"unknown resolution '{resolution}'; use one of {', '.join(RESOLUTION_CODES)}")
        with self._write() as session, session.begin():
            row = self._workable_row(session, viewer, case_id)
            self._check_not_held_by_other(row, viewer)
            row.state, row.resolution, row.resolved_at = CaseState.RESOLVED.value, resolution, _now()
            row.claimed_by = viewer.user.username
            self._audit(session, row, viewer, "resolved", resolution=resolution, note=note)
        return self.get(viewer, case_id)

    @staticmethod
    def _label(session: Session, row: CaseRow, viewer: Viewer, field: str, old: str | None, new: str) -> None:
        session.add(LabelRow(case_id=row.id, at=_now(), username=viewer.user.username, field=field, old_value=old,
                             new_value=new, model_version=row.model_version))

    # --- the model's side ---------------------------------------------------------------------------------------

    def apply_prediction(self, case_id: str, prediction: Prediction, decision: RoutingDecision) -> list[str]:
        """Record a newer model's prediction for an open case. The model's record (prediction, confidences,
        routing trace) is updated; topic, queue and urgency change only where no person has corrected them and
        nobody holds the case. Returns the fields that kept a human's value."""
        kept: list[str] = []
        with self._write() as session, session.begin():
            row = session.get(CaseRow, case_id, with_for_update=self._postgres)
            if row is None:
                raise CaseNotFound(f"no case {case_id}")
            if row.state not in _OPEN:
                return ["state"]
            human_routed = row.human_topic is not None or session.scalar(
                select(func.count()).select_from(LabelRow).where(LabelRow.case_id == case_id, LabelRow.field == "queue"))
            row.prediction, row.model_version = prediction.model_dump(mode="json"), prediction.model_version
            row.topic_confidence, row.urgency_confidence = prediction.topic_confidence, prediction.urgency_confidence
            row.routing = decision.model_dump(mode="json")
            if human_routed or row.claimed_by is not None:
                kept += ["topic", "queue"]
            else:
                row.topic, row.queue, row.needs_review = prediction.topic, decision.queue, decision.needs_review
                row.restricted = bool(row.restricted) or decision.restricted
            if row.human_urgency is not None:
                kept.append("urgency")
            else:
                row.urgency, row.priority = prediction.urgency, decision.priority
                row.due_at = _utc(row.inquiry.received_at) + timedelta(hours=decision.sla_hours)  # type: ignore[operator]
            row.updated_at = _now()
            session.add(AuditRow(case_id=case_id, at=row.updated_at, actor_kind="model", actor=prediction.model_version,
                                 action="rescored", detail={"topic": prediction.topic, "urgency": prediction.urgency,
                                                            "queue": decision.queue, "kept_human": kept}))
        return kept

    # --- feedback ----------------------------------------------------------------------------------------------

    def feedback_records(self) -> Iterator[dict[str, Any]]:
        """One corpus record (data/corpus format, redacted text) per case a person corrected the topic or
        urgency of; the labels are the case's current human-or-model values, and `corrected` names the human ones.
        `received_at` (ISO 8601, UTC) dates the inquiry, so training can keep the most recent corrections apart."""
        query = (select(CaseRow).join(InquiryRow)
                 .where(or_(CaseRow.human_topic.is_not(None), CaseRow.human_urgency.is_not(None)))
                 .order_by(InquiryRow.received_at, CaseRow.id))
        with self._read() as session:
            for row in session.scalars(query):
                inquiry = row.inquiry
                corrected = [name for name, value in (("topic", row.human_topic), ("urgency", row.human_urgency)) if value]
                yield {
                    "id": content_id(inquiry.channel, inquiry.subject, inquiry.body),
                    "channel": inquiry.channel, "subject": inquiry.subject, "body": inquiry.body,
                    "lang": inquiry.language or "sv", "topic": row.topic, "urgency": row.urgency,
                    "source": f"feedback:{self.tenant.tenant}:{row.id}", "corrected": corrected,
                    "model_version": row.model_version,
                    "received_at": _utc(inquiry.received_at).isoformat(),  # type: ignore[union-attr]
                }


