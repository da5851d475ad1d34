"""The `triage classify` contract on the batch function: order, bad lines, confidences and queues."""

import json
from datetime import UTC, datetime

from models.batch import classify_lines

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _line(**record) -> str:
    return json.dumps(record, ensure_ascii=False)


def test_one_output_per_line_in_order_with_errors_in_place(tiny_classifier, tenant):
    lines = [
        _line(id="a", channel="email", subject="Sopor", body="Soptunnan töms inte."),
        "{not json",
        _line(id="b", channel="call", subject=None, body="Ringde ang. trasig gatlampa.", extra="ignored"),
        _line(id="c", channel="email", subject="Hej"),
        "",
        _line(id=7, channel="email", subject=None, body="Behöver jag bygglov för en altan?"),
    ]
    out = list(classify_lines(lines, tiny_classifier, tenant, NOW))
    assert [r.get("id") for r in out] == ["a", None, "b", None, None, "7"]
    assert out[1] == {"line": 2, "error": out[1]["error"]} and "JSON" in out[1]["error"]
    assert out[3]["line"] == 4 and "body" in out[3]["error"]
    assert out[4]["line"] == 5
    for record in (out[0], out[2], out[5]):
        assert set(record) == {"id", "topic", "urgency", "topic_confidence", "urgency_confidence", "queue",
                               "needs_review", "model_version", "language"}
        assert 0 <= record["topic_confidence"] <= 1 and 0 <= record["urgency_confidence"] <= 1
        assert isinstance(record["needs_review"], bool)
        assert record["queue"] in tenant.queues
        assert record["model_version"] == "test/1"


def test_large_input_is_batched_without_losing_lines(tiny_classifier, tenant):
    lines = [_line(id=str(n), channel="email", subject=None, body=f"Fråga {n} om sophämtning") for n in range(600)]
    out = list(classify_lines(lines, tiny_classifier, tenant, NOW))
    assert [r["id"] for r in out] == [str(n) for n in range(600)]


def test_wrong_types_are_errors(tiny_classifier, tenant):
    lines = [_line(id="x", channel="fax", body="hej"), _line(id="y", body=42), "[1, 2]"]
    out = list(classify_lines(lines, tiny_classifier, tenant, NOW))
    assert [r["line"] for r in out] == [1, 2, 3]
    assert all("error" in r for r in out)
