"""The labelled corpus: its record type, loading, near-duplicate grouping and the fixed train/dev/test split."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sklearn.feature_extraction.text import HashingVectorizer

SPLITS = ("train", "dev", "test")
# Test gets a little over a fifth so that, after rounding in small strata, it never falls below 20%.
SPLIT_SHARES = {"train": 0.6, "dev": 0.18, "test": 0.22}
NEAR_DUPLICATE_JACCARD = 0.8
Split = Literal["train", "dev", "test"]


class CorpusError(ValueError):
    """A corpus file is missing or holds an invalid record; the message names file and line."""


class CorpusItem(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    channel: Literal["email", "call"]
    subject: str | None
    body: str
    lang: str
    topic: str
    urgency: Literal["akut", "hog", "normal", "lag"]
    source: str

    @field_validator("body")
    @classmethod
    def _body_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("body is empty")
        return value


_WORD = re.compile(r"\w+")


def word_count(item: CorpusItem) -> int:
    """Words in subject and body: the length measure of the data card and the short/long slices."""
    return len(_WORD.findall(f"{item.subject or ''} {item.body}"))


def text_key(subject: str | None, body: str) -> str:
    return f"{subject or ''}\n{body}"


def content_id(channel: str, subject: str | None, body: str) -> str:
    """Stable id from the content, so the same text always gets the same id."""
    digest = hashlib.sha256(f"{channel}\x00{text_key(subject, body)}".encode()).hexdigest()
    return f"c{digest[:11]}"


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise CorpusError(f"corpus file not found: {path}")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{path}:{number} is not valid JSON: {exc.msg}") from exc
    return rows


def load_split(corpus_dir: Path, split: Split) -> list[CorpusItem]:
    return load_items(corpus_dir / f"{split}.jsonl")


def load_items(path: Path) -> list[CorpusItem]:
    """Validated records of one JSON Lines file in the corpus format."""
    items = []
    for number, row in enumerate(read_jsonl(path), start=1):
        try:
            items.append(CorpusItem.model_validate(row))
        except ValidationError as exc:
            raise CorpusError(f"{path} record {number} is invalid: {exc.errors()[0]['msg']}") from exc
    return items


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


_SPACE = re.compile(r"\s+")


def shingle_jaccard(texts: Sequence[str], k: int = 5) -> np.ndarray:
    """Pairwise Jaccard similarity of the character k-shingle sets of texts (dense matrix)."""
    normalised = [_SPACE.sub(" ", t.lower()).strip() for t in texts]
    vectorizer = HashingVectorizer(analyzer="char", ngram_range=(k, k), binary=True, norm=None, alternate_sign=False,
                                   n_features=2**22, lowercase=False)
    matrix = vectorizer.transform(normalised)
    intersection = (matrix @ matrix.T).toarray()
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    union = sizes[:, None] + sizes[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection, dtype=float), where=union > 0)


def near_duplicate_groups(texts: Sequence[str], threshold: float = NEAR_DUPLICATE_JACCARD) -> list[int]:
    """Group index per text: texts linked by Jaccard >= threshold (transitively) share a group."""
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    similarity = shingle_jaccard(texts)
    for i, j in zip(*np.nonzero(np.triu(similarity >= threshold, k=1)), strict=True):
        parent[find(int(i))] = find(int(j))
    return [find(i) for i in range(len(texts))]


def assign_splits(items: Sequence[CorpusItem], previous: dict[str, str]) -> dict[str, str]:
    """Split of every item: items keep the split they had; near-duplicate groups never straddle splits;
    new groups fill each topic x urgency stratum towards the target shares, in a content-hashed order."""
    groups = near_duplicate_groups([text_key(i.subject, i.body) for i in items])
    members: dict[int, list[CorpusItem]] = defaultdict(list)
    for item, group in zip(items, groups, strict=True):
        members[group].append(item)

    assignment: dict[str, str] = {}
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(SPLITS, 0))
    pending: list[list[CorpusItem]] = []
    for group_items in members.values():
        known = [previous[i.id] for i in group_items if i.id in previous]
        if known:
            # A group already placed stays where its first known member was.
            for item in group_items:
                assignment[item.id] = known[0]
                counts[(item.topic, item.urgency)][known[0]] += 1
        else:
            pending.append(group_items)

    pending.sort(key=lambda group: hashlib.sha256(min(i.id for i in group).encode()).hexdigest())
    for group_items in pending:
        stratum = (group_items[0].topic, group_items[0].urgency)
        tally = counts[stratum]
        total = sum(tally.values()) + len(group_items)
        # The split furthest below its target share in this stratum takes the group; ties favour test.
        split = max(SPLITS, key=lambda s: (SPLIT_SHARES[s] * total - tally[s], SPLITS.index(s)))
        for item in group_items:
            assignment[item.id] = split
            counts[(item.topic, item.urgency)][split] += 1
    return assignment


def build_corpus(raw_dir: Path, corpus_dir: Path) -> dict[str, int]:
    """Merge the written drafts in raw_dir into corpus_dir/{train,dev,test}.jsonl, with content ids,
    exact duplicates dropped and the split of already-placed items kept. Returns counts per split."""
    items: dict[str, CorpusItem] = {}
    for path in sorted(raw_dir.glob("*.jsonl")):
        for number, row in enumerate(read_jsonl(path), start=1):
            row = {**row, "id": content_id(row.get("channel", ""), row.get("subject"), row.get("body", ""))}
            try:
                item = CorpusItem.model_validate(row)
            except ValidationError as exc:
                raise CorpusError(f"{path} record {number} is invalid: {exc.errors()[0]['msg']}") from exc
            items.setdefault(item.id, item)

    previous: dict[str, str] = {}
    for split in SPLITS:
        path = corpus_dir / f"{split}.jsonl"
        if path.is_file():
            previous.update({row["id"]: split for row in read_jsonl(path)})

    ordered = sorted(items.values(), key=lambda i: i.id)
    assignment = assign_splits(ordered, previous)
    for split in SPLITS:
        write_jsonl(corpus_dir / f"{split}.jsonl",
                    (i.model_dump() for i in ordered if assignment[i.id] == split))
    return {split: sum(1 for s in assignment.values() if s == split) for split in SPLITS}
