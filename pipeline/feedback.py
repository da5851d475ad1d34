"""Handler feedback as training data: labelled cases (the topic and urgency a case handler settled on) join
the train split of a candidate model, but never text that the dev or test split holds, so the frozen test
split that promotion compares on stays unseen.

The corrections loop: without a feedback file, the train and promote flows read the corrections from the case
store themselves. Training takes those older than the holdout window, each `weight` times; promotion judges on
the ones inside it, which no candidate has been trained on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.config import Settings, TenantConfig, load_taxonomy, load_tenant
from pipeline.corpus import CorpusItem, text_key

# Where a model's feedback came from (the `feedback_source` MLflow param).
FROM_CASE_STORE, FROM_FILE, NO_FEEDBACK = "case store", "file", "none"


@dataclass(frozen=True)
class FeedbackMerge:
    train: list[CorpusItem]
    added: int
    # Feedback whose text is in dev or test: left out, or promotion would compare on trained-on text.
    held_out_overlap: int
    # Feedback whose text is already in train: the handler's label replaces the corpus one.
    relabelled: int


def merge_feedback(train: Sequence[CorpusItem], feedback: Sequence[CorpusItem],
                   held_out: Sequence[CorpusItem], weight: int = 1) -> FeedbackMerge:
    """Train plus feedback; for the same text the latest feedback label wins over earlier ones and the corpus.
    Each text that feedback added or relabelled is in train `weight` times; the counts are of feedback items."""
    if weight < 1:
        raise ValueError(f"feedback weight must be at least 1, got {weight}")
    held_out_keys = {text_key(i.subject, i.body) for i in held_out}
    merged = {text_key(i.subject, i.body): i for i in train}
    weighted: set[str] = set()
    added = overlap = relabelled = 0
    for item in feedback:
        key = text_key(item.subject, item.body)
        if key in held_out_keys:
            overlap += 1
            continue
        if key in merged:
            changed = (merged[key].topic, merged[key].urgency) != (item.topic, item.urgency)
            relabelled += changed
        else:
            changed = True
            added += 1
        if changed:
            weighted.add(key)
        merged[key] = item
    merged_train = [item for key, item in merged.items() for _ in range(weight if key in weighted else 1)]
    return FeedbackMerge(train=merged_train, added=added, held_out_overlap=overlap, relabelled=relabelled)


def _received_at(record: Mapping[str, Any]) -> datetime | None:
    value = record.get("received_at")
    if value is None or value == "":
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def split_by_time(records: Iterable[Mapping[str, Any]], cutoff: datetime) -> tuple[list[Any], list[Any]]:
    """The records received before `cutoff` and those received at or after it, each in their order. A record
    without `received_at` (ISO 8601; naive means UTC) counts as older."""
    cutoff = cutoff if cutoff.tzinfo else cutoff.replace(tzinfo=UTC)
    older: list[Any] = []
    recent: list[Any] = []
    for record in records:
        when = _received_at(record)
        (recent if when is not None and when >= cutoff else older).append(record)
    return older, recent


def as_items(records: Iterable[Mapping[str, Any]]) -> list[CorpusItem]:
    """Feedback records as corpus items (extra keys such as `received_at` are dropped); a record without text
    (a call logged with an empty note) teaches nothing and is skipped."""
    return [CorpusItem.model_validate(record) for record in records if str(record.get("body") or "").strip()]


def corrections_from_store(url: str, tenant: TenantConfig) -> list[dict[str, Any]]:
    """The case store's corrections (`CaseWork.feedback_records`), oldest first; none where the store does not
    exist yet or has no corrections table. It only reads: no store is created or migrated. The engine is always
    disposed. `url` can hold a password: never log it."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from pipeline.casework import CaseWork, work_engine

    parsed = make_url(url)
    if (parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
            and not Path(parsed.database).is_file()):
        return []
    engine = work_engine(url)
    try:
        inspector = inspect(engine)
        if not (inspector.has_table("inquiries") and inspector.has_table("cases")
                and "human_topic" in {column["name"] for column in inspector.get_columns("cases")}):
            return []
        return list(CaseWork(engine, tenant).feedback_records())
    finally:
        engine.dispose()


def store_corrections(config_dir: Path, holdout_days: int, now: datetime | None = None
                      ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The corrections of the environment's case store (`Settings().case_store_url`, never a flow parameter: it
    can hold a password; the configured tenant), split into those received before the last `holdout_days` days
    (to train on) and those within them (to judge a challenger on)."""
    settings = Settings()
    tenant = load_tenant(config_dir, settings.tenant, load_taxonomy(config_dir))
    cutoff = (now or datetime.now(UTC)) - timedelta(days=holdout_days)
    return split_by_time(corrections_from_store(settings.case_store_url, tenant), cutoff)
