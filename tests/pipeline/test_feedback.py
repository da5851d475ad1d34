"""Handler feedback joins the train split, never with text that dev or test hold."""

from pipeline.corpus import CorpusItem
from pipeline.feedback import merge_feedback


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
