"""Handler feedback joins the train split, never with text that dev or test hold."""

import sqlite3
from collections import Counter
from datetime import UTC, datetime

import pytest

from pipeline.casework import CaseWork, work_engine
from pipeline.corpus import CorpusItem
from pipeline.feedback import as_items, corrections_from_store, merge_feedback, split_by_time
from pipeline.store import open_store
from pipeline.users import Role, User
from tests.pipeline.seeding import Seed, seed_cases


def _item(n: int, body: str, topic: str = "avfall", urgency: str = "normal") -> CorpusItem:
    return CorpusItem(id=f"i{n}", channel="email", subject=None, body=body, lang="sv", topic=topic, urgency=urgency,
                      source="test")


def test_new_text_is_added_held_out_text_is_left_out_and_labels_are_corrected():
    train = [_item(1, "Soptunnan töms inte."), _item(2, "Gatlampan är trasig.", topic="gata_trafik")]
    held_out = [_item(3, "Vattnet är brunt.", topic="vatten")]
    feedback = [
        _item(10, "Vattnet är brunt.", topic="vatten", urgency="hog"),  # the test split holds this text
        _item(11, "Gatlampan är trasig.", topic="gata_trafik", urgency="hog"),  # the handler raised the urgency
        _item(12, "Bygglov för altan?", topic="bygglov"),
        _item(13, "Soptunnan töms inte."),  # the same label again: nothing changes
    ]
    merge = merge_feedback(train, feedback, held_out)
    assert (merge.added, merge.relabelled, merge.held_out_overlap) == (1, 1, 1)
    assert [(i.body, i.urgency) for i in merge.train] == [
        ("Soptunnan töms inte.", "normal"), ("Gatlampan är trasig.", "hog"), ("Bygglov för altan?", "normal")]
    assert "Vattnet är brunt." not in {i.body for i in merge.train}


def test_added_and_relabelled_feedback_counts_weight_times_in_train():
    train = [_item(1, "Soptunnan töms inte."), _item(2, "Gatlampan är trasig.", topic="gata_trafik")]
    feedback = [
        _item(11, "Gatlampan är trasig.", topic="gata_trafik", urgency="hog"),  # relabelled
        _item(12, "Bygglov för altan?", topic="bygglov"),  # added
        _item(13, "Soptunnan töms inte."),  # the corpus label again: stays once
        _item(14, "Vattnet är brunt.", topic="vatten"),  # held out: never in train
    ]
    merge = merge_feedback(train, feedback, [_item(3, "Vattnet är brunt.", topic="vatten")], weight=3)
    assert (merge.added, merge.relabelled, merge.held_out_overlap) == (1, 1, 1)
    assert Counter((i.body, i.urgency) for i in merge.train) == {
        ("Soptunnan töms inte.", "normal"): 1, ("Gatlampan är trasig.", "hog"): 3, ("Bygglov för altan?", "normal"): 3}
    assert len(merge_feedback(train, feedback, [], weight=1).train) == 4
    with pytest.raises(ValueError, match="at least 1"):
        merge_feedback(train, feedback, [], weight=0)


def test_split_by_time_keeps_order_and_counts_undated_records_as_older():
    cutoff = datetime(2026, 11, 15, tzinfo=UTC)
    records = [
        {"id": "a", "received_at": "2026-11-01T08:00:00+00:00"},
        {"id": "b", "received_at": "2026-11-15T00:00:00+00:00"},  # at the cutoff: recent
        {"id": "c"},
        {"id": "d", "received_at": "2026-11-20T09:30:00"},  # naive: UTC
        {"id": "e", "received_at": "2026-11-15T00:30:00+01:00"},  # 23:30 UTC the day before: older
        {"id": "f", "received_at": datetime(2026, 11, 16, tzinfo=UTC)},
    ]
    older, recent = split_by_time(records, cutoff)
    assert [r["id"] for r in older] == ["a", "c", "e"]
    assert [r["id"] for r in recent] == ["b", "d", "f"]
    assert split_by_time([], cutoff) == ([], [])


def test_corrections_from_store_reads_nothing_where_there_is_no_store_or_no_table(tmp_path, tenant):
    missing = tmp_path / "absent" / "cases.db"
    assert corrections_from_store(f"sqlite:///{missing}", tenant) == []
    assert not missing.exists() and not missing.parent.exists()  # nothing was created
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert corrections_from_store(f"sqlite:///{empty}", tenant) == []


def test_corrections_from_store_are_dated_and_load_as_corpus_items(tmp_path, tenant):
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    store = open_store(url)
    received = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    corrected, _ = seed_cases(store, tenant, [Seed("gata_trafik", received_at=received), Seed("parkering")])
    work = CaseWork(work_engine(url), tenant)
    work.change_urgency(work.viewer(User("tove", "Tove", "teknik", Role.HANDLAGGARE)), corrected, "hog")
    work.engine.dispose()
    store.dispose()
    [record] = corrections_from_store(url, tenant)
    assert datetime.fromisoformat(record["received_at"]) == received  # seed 0: no seconds added
    assert record["received_at"].endswith("+00:00")
    [item] = as_items([record])
    assert (item.topic, item.urgency, item.source) == ("gata_trafik", "hog", f"feedback:solvik:{corrected}")
