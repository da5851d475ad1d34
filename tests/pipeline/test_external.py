"""Real-text sets: committed text, text from the local cache checked against its hash, and missing text counted."""

from __future__ import annotations

import json

import pytest

from pipeline.corpus import CorpusError
from pipeline.external import load_external, text_sha256

LABELS = {"channel": "email", "lang": "sv", "topic": "park_natur", "urgency": "lag"}


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_text_comes_from_the_record_or_from_a_cache_that_matches_its_hash(tmp_path):
    cached_subject, cached_body = "Fler bänkar", "Sätt upp bänkar längs ån."
    _write(tmp_path / "set.jsonl", [
        {"id": "real-1", "subject": None, "body": "Bygg en lekplats i parken.", "source": "real:proposal:x", **LABELS},
        {"id": "real-2", "text_sha256": text_sha256(cached_subject, cached_body), "source": "real:proposal:y", **LABELS},
        {"id": "real-3", "text_sha256": text_sha256(None, "annan text"), "source": "real:letter:z", **LABELS},
        {"id": "real-4", "text_sha256": "0" * 64, "source": "real:letter:z", **LABELS},
    ])
    _write(tmp_path / "cache.jsonl", [
        {"id": "real-2", "subject": cached_subject, "body": cached_body},
        {"id": "real-3", "subject": None, "body": "en ändrad text"},  # does not match its hash: not used
    ])
    loaded = load_external(tmp_path / "set.jsonl", tmp_path / "cache.jsonl")
    assert [i.id for i in loaded.items] == ["real-1", "real-2"]
    assert loaded.items[1].subject == cached_subject and loaded.items[1].body == cached_body
    assert loaded.missing == 2

    without_cache = load_external(tmp_path / "set.jsonl", tmp_path / "absent.jsonl")
    assert [i.id for i in without_cache.items] == ["real-1"] and without_cache.missing == 3


def test_an_invalid_record_names_the_file_and_record(tmp_path):
    _write(tmp_path / "set.jsonl", [{"id": "real-1", "body": "text", "source": "real:x:y", **LABELS, "topic": 7}])
    with pytest.raises(CorpusError, match="record 1"):
        load_external(tmp_path / "set.jsonl", tmp_path / "cache.jsonl")
