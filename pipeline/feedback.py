"""Handler feedback as training data: labelled cases (the topic and urgency a case handler settled on) join
the train split of a candidate model, but never text that the dev or test split holds, so the frozen test
split that promotion compares on stays unseen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.corpus import CorpusItem, text_key


@dataclass(frozen=True)
class FeedbackMerge:
    train: list[CorpusItem]
    added: int
    # Feedback whose text is in dev or test: left out, or promotion would compare on trained-on text.
    held_out_overlap: int
    # Feedback whose text is already in train: the handler's label replaces the corpus one.
    relabelled: int


def merge_feedback(train: Sequence[CorpusItem], feedback: Sequence[CorpusItem],
                   held_out: Sequence[CorpusItem]) -> FeedbackMerge:
    """Train plus feedback; for the same text the latest feedback label wins over earlier ones and the corpus."""
    held_out_keys = {text_key(i.subject, i.body) for i in held_out}
    merged = {text_key(i.subject, i.body): i for i in train}
    added = overlap = relabelled = 0
    for item in feedback:
        key = text_key(item.subject, item.body)
        if key in held_out_keys:
            overlap += 1
            continue
        if key in merged:
            relabelled += (merged[key].topic, merged[key].urgency) != (item.topic, item.urgency)
        else:
            added += 1
        merged[key] = item
    return FeedbackMerge(train=list(merged.values()), added=added, held_out_overlap=overlap, relabelled=relabelled)
