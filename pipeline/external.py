"""Labelled sets of real text, scored apart from the corpus and never trained or tuned on.

A real text may be committed only where its licence allows redistribution. For the others the repository keeps
the source, the labels and a SHA-256 of the text, and the text itself lies in a local cache outside git
(`TRIAGE_REALTEXT_CACHE`, default `~/.cache/kommun-triage/realtext.jsonl`, one `{"id", "subject", "body"}` per
line). Loading joins the two and checks every cached text against its hash, so a figure computed here is always
computed on exactly the text that was labelled; an item whose text is missing is counted, never guessed."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from pipeline.corpus import CorpusError, CorpusItem, read_jsonl, text_key

DEFAULT_CACHE = Path.home() / ".cache" / "kommun-triage" / "realtext.jsonl"


def text_cache_path() -> Path:
    return Path(os.environ.get("TRIAGE_REALTEXT_CACHE") or DEFAULT_CACHE)


def text_sha256(subject: str | None, body: str) -> str:
    """The hash a real-text record keeps of its text (subject and body as the model reads them)."""
    return hashlib.sha256(text_key(subject, body).encode()).hexdigest()


@dataclass(frozen=True)
class ExternalSet:
    items: list[CorpusItem]
    # Records whose text is neither committed nor in the local cache (or no longer matches its hash).
    missing: int


def load_external(path: Path, cache: Path | None = None) -> ExternalSet:
    """The labelled records of `path` with their text, from the record itself or from the text cache."""
    cache = cache or text_cache_path()
    cached = {row["id"]: row for row in read_jsonl(cache)} if cache.is_file() else {}
    items, missing = [], 0
    for number, row in enumerate(read_jsonl(path), start=1):
        if not row.get("body"):
            text = cached.get(row.get("id"))
            if text is None or text_sha256(text.get("subject"), text.get("body", "")) != row.get("text_sha256"):
                missing += 1
                continue
            row = {**row, "subject": text.get("subject"), "body": text["body"]}
        try:
            items.append(CorpusItem.model_validate(row))
        except ValidationError as exc:
            raise CorpusError(f"{path} record {number} is invalid: {exc.errors()[0]['msg']}") from exc
    return ExternalSet(items, missing)
