"""Batch classification of JSON Lines: the `triage classify` contract, independent of where lines come from."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from models.base import InquiryClassifier, InquiryText
from pipeline.config import TenantConfig
from pipeline.domain import Inquiry, Prediction
from pipeline.routing import route
from pipeline.store import CaseStore

BATCH_SIZE = 256


def parse_line(line: str) -> tuple[str, InquiryText] | str:
    """The id and inquiry of one input line, or the reason the line cannot be classified."""
    if not line.strip():
        return "empty line"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"not valid JSON: {exc.msg}"
    if not isinstance(record, dict):
        return "not a JSON object"
    body, subject, channel = record.get("body"), record.get("subject"), record.get("channel", "email")
    if body is None:
        return "missing 'body'"
    if not isinstance(body, str):
        return "'body' must be a string"
    if subject is not None and not isinstance(subject, str):
        return "'subject' must be a string or null"
    if channel not in ("email", "call"):
        return "'channel' must be \"email\" or \"call\""
    if not body.strip() and not (subject or "").strip():
        return "'body' is empty"
    if "id" not in record or record["id"] is None:
        return "missing 'id'"
    return str(record["id"]), InquiryText(channel, subject, body)


def classify_lines(
    lines: Iterable[str], classifier: InquiryClassifier, tenant: TenantConfig, now: datetime
) -> Iterator[dict]:
    """One output record per input line, in input order; bad lines yield {"line": N, "error": ...}."""
    numbered = enumerate(lines, start=1)
    while batch := list(islice(numbered, BATCH_SIZE)):
        parsed = [(n, parse_line(line)) for n, line in batch]
        valid = [(n, item) for n, item in parsed if isinstance(item, tuple)]
        predictions = classifier.predict([inquiry for _, (_, inquiry) in valid])
        results = {}
        for (n, (inquiry_id, text)), prediction in zip(valid, predictions, strict=True):
            decision = route(prediction, tenant, now, f"{text.subject or ''}\n{text.body}")
            results[n] = {
                "id": inquiry_id,
                "topic": prediction.topic,
                "urgency": prediction.urgency,
                "topic_confidence": round(prediction.topic_confidence, 6),
                "urgency_confidence": round(prediction.urgency_confidence, 6),
                "queue": decision.queue,
                "needs_review": decision.needs_review,
                "model_version": prediction.model_version,
                "language": prediction.language,
            }
        for n, item in parsed:
            yield results.get(n, {"line": n, "error": item})


@dataclass(frozen=True)
class TriageReport:
    routed: int
    needs_review: int
    akut: int
    # One line on the challenger's agreement with the champion when it ran in shadow mode.
    shadow: str | None = None


def triage_new_cases(store: CaseStore, classifier: InquiryClassifier, tenant: TenantConfig,
                     batch_size: int = BATCH_SIZE,
                     observe: Callable[[list[Inquiry], list[InquiryText], list[Prediction]], None] | None = None,
                     ) -> TriageReport:
    """Classify and route every case still in state `new`, a batch at a time; safe to re-run. `observe` sees
    each batch after it is routed (shadow mode compares another model's predictions there)."""
    routed = review = akut = 0
    while inquiries := store.new_inquiries(limit=batch_size):
        texts = [InquiryText(i.channel.value, i.subject, i.body, i.language) for i in inquiries]
        predictions = classifier.predict(texts)
        for inquiry, prediction in zip(inquiries, predictions, strict=True):
            decision = route(prediction, tenant, inquiry.received_at, f"{inquiry.subject or ''}\n{inquiry.body}")
            store.record_routing(inquiry.id, prediction, decision)
            routed += 1
            review += decision.needs_review
            akut += prediction.urgency == "akut"
        if observe is not None:
            observe(inquiries, texts, predictions)
    return TriageReport(routed=routed, needs_review=review, akut=akut)
