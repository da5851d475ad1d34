"""Source configs (configs/sources) and the call-log readers of both vendor layouts."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.calllogs import VENDOR_A, parse_decimal, parse_local_time, read_call_csv, read_call_json
from pipeline.config import ConfigError
from pipeline.corpus import load_split
from pipeline.inbox import write_inbox
from pipeline.ingest import IngestError
from pipeline.sources import CallLogSource, ImapSource, MailFolderSource, load_source, load_sources
from tests.conftest import CONFIG_DIR, CORPUS_DIR

SHIPPED = sorted((CONFIG_DIR / "sources").glob("*.yaml"))
CALL_ITEMS = [item for item in load_split(CORPUS_DIR, "dev") if item.channel == "call"][:40]
HEADER_A = "call_id;started_at;caller_number;agent;reason;notes;duration_min\n"


@pytest.fixture(scope="module")
def sources():
    return load_sources(CONFIG_DIR)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_source_loads(path):
    assert load_source(path).name == path.stem


def test_the_shipped_sources_cover_both_vendors_and_every_mail_kind(sources):
    kinds = {config.kind for config in sources.values()}
    assert {"call_csv", "call_json", "eml_dir", "mbox", "imap"} <= kinds
    assert sources["vendor_a"] == VENDOR_A.model_copy(update={"description": sources["vendor_a"].description,
                                                               "path": sources["vendor_a"].path})


@pytest.mark.parametrize(("text", "message"), [
    ("kind: imap\nname: x_imap\nhost: h\nuser: u\npassword: hemligt\n", "passwords never go in a config file"),
    ("kind: call_csv\nname: bad_enc\nencoding: klingon\nfields: {call_id: a, started_at: b, notes: c}\n",
     "unknown encoding 'klingon'"),
    ("kind: call_csv\nname: bad_tz\ntimezone: Mars/Olympus\nfields: {call_id: a, started_at: b, notes: c}\n",
     "unknown time zone"),
    ("kind: call_json\nname: no_notes\nfields: {call_id: a, started_at: b}\n", "fields.notes"),
    ("kind: fax\nname: fax\n", "kind"),
])
def test_bad_source_configs_fail_with_the_field_at_fault(tmp_path, text, message):
    name = text.split("name: ")[1].split("\n")[0]
    path = tmp_path / "sources" / f"{name}.yaml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        load_sources(tmp_path)
    assert str(path) in str(caught.value)


def test_a_source_must_be_named_after_its_file(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text("kind: mbox\nname: arkiv\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must match the file name"):
        load_source(path)


def test_swedish_numbers_and_local_times():
    assert parse_decimal("3,5") == 3.5 and parse_decimal("1 234,5") == 1234.5 and parse_decimal("1.234,5") == 1234.5
    with pytest.raises(IngestError):
        parse_decimal("tre")
    # Summer time is UTC+2, winter time UTC+1: the same wall-clock time is a different instant.
    assert parse_local_time("2026-07-01T10:00:00", VENDOR_A) == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert parse_local_time("2026-11-02T10:00:00", VENDOR_A) == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert parse_local_time("02/11/2026 10:00", VENDOR_A) == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert parse_local_time("2026-11-02T10:00:00+00:00", VENDOR_A) == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    with pytest.raises(IngestError, match="matches none of the formats"):
        parse_local_time("igår", VENDOR_A)


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1252"])
def test_vendor_a_export_reads_through_its_config(tmp_path, sources, encoding):
    summary = write_inbox(CALL_ITEMS, tmp_path, seed=4, call_layouts=("a",), call_encoding=encoding)
    items = list(read_call_csv(summary.call_log, sources["vendor_a"]))
    assert len(items) == summary.calls > 0
    assert not [item for item in items if isinstance(item.result, Exception)]
    first = items[0].result
    assert first.inquiry.source == "vendor_a" and first.external_id.startswith("vendor_a:CALL-")
    # Swedish letters survive either encoding, and the decimal-comma minutes are stored as seconds.
    assert any("ä" in item.result.raw_body or "ö" in item.result.raw_body for item in items)
    assert all(item.result.details["duration_s"] > 0 for item in items)
    assert items[0].item == "2" and items[0].ref == f"{summary.call_log}:2"


def test_vendor_b_export_with_transcripts_reads_through_its_config(tmp_path, sources):
    summary = write_inbox(CALL_ITEMS, tmp_path, seed=4, call_layouts=("b",))
    records = json.loads(summary.call_log_b.read_text(encoding="utf-8"))
    items = list(read_call_json(summary.call_log_b, sources["vendor_b"]))
    assert len(items) == len(records) == summary.calls_b
    assert not [item for item in items if isinstance(item.result, Exception)]
    by_id = {item.result.external_id: item.result for item in items}
    for record in records:
        stored = by_id[f"vendor_b:{record['samtalsId']}"]
        local = datetime.strptime(record["startTid"], "%Y-%m-%d %H:%M")
        assert stored.inquiry.received_at.replace(tzinfo=None) == local - stored.inquiry.received_at.astimezone(
            sources["vendor_b"].zone).utcoffset()
        assert stored.details["duration_s"] == record["samtalslangd_sek"]
        if record["transkribering"]:
            assert record["transkribering"].split("\n")[0][:20] in stored.raw_body
            assert "transcript" in stored.details
        if record["anropare"]:
            # Redacted (a bare 10-digit mobile number can pass as a personnummer; either placeholder hides it).
            assert stored.inquiry.sender in ("[TELEFON]", "[PERSONNUMMER]") and stored.raw_sender == record["anropare"]


def _errors(items):
    return {item.item: str(item.result) for item in items if isinstance(item.result, Exception)}


def test_bad_csv_rows_are_quarantine_items_and_the_rest_proceeds(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_bytes(
        (HEADER_A
         + "C1;2026-11-02T08:05:00;070-111 22 33;kc-anna;Avfall;Soptunnan är inte tömd;3,5\n"
         + "C2;2026-11-02T08:10:00;070-111 22 34\n"  # missing columns
         + "C3;2026-11-02T08:15:00;;kc-per;;Gatlampan lyser inte;1,0;extra\n"  # one column too many
         + "C4;inte-ett-datum;;kc-per;;Fråga om färdtjänst;2,0\n"
         + "C5;2026-11-02T08:25:00;;kc-per;;;2,0\n"  # no notes
         + ";2026-11-02T08:30:00;;kc-per;;Utan samtals-id;2,0\n"
         + 'C7;2026-11-02T08:35:00;;kc-per;;"Flera\nrader i anteckningen";x,y\n').encode("utf-8")
        + b"C8;2026-11-02T08:40:00;;kc-per;;Trasig \xff byte;1,0\n"  # not UTF-8: only this row is lost
        + b'C9;2026-11-02T08:45:00;;kc-per;;"Avbruten mitt i'  # truncated inside a quoted field
    )
    config = VENDOR_A.model_copy(update={"encoding": "utf-8"})
    items = list(read_call_csv(path, config))
    stored = {item.result.external_id.split(":")[1] for item in items if not isinstance(item.result, Exception)}
    assert stored == {"C1", "C7"}
    errors = _errors(items)
    assert "3 columns, the header 7" in errors["3"] and "missing columns" in errors["3"]
    assert "8 columns" in errors["4"]
    assert "matches none of the formats" in errors["5"]
    assert "neither notes" in errors["6"]
    assert "call id" in errors["7"]
    assert "undecodable bytes" in errors["10"]
    assert "truncated" in errors["11"]
    multi_line = next(item for item in items if item.item == "8").result
    assert multi_line.details["duration_unreadable"] == "x,y" and "rader" in multi_line.inquiry.body
    # Each failure keeps the header and its row, so it can be re-read when the file is gone.
    failed = next(item for item in items if item.item == "10")
    assert failed.payload == HEADER_A.encode() + b"C8;2026-11-02T08:40:00;;kc-per;;Trasig \xff byte;1,0\n"


def test_a_csv_without_the_mapped_columns_is_one_quarantine_item(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("id;text\n1;hej\n", encoding="utf-8")
    (item,) = read_call_csv(path, VENDOR_A)
    assert item.item == "" and "lacks the columns" in str(item.result)


def test_bad_json_records_and_a_truncated_file(tmp_path, sources):
    config = sources["vendor_b"]
    good = {"samtalsId": "S1", "startTid": "2026-11-02 08:05", "anropare": None, "handlaggare": "Anna",
            "kategori": "", "anteckning": "Vill veta när sophämtningen kommer", "transkribering": None,
            "samtalslangd_sek": 95}
    records = [good, ["inte", "ett", "objekt"], {**good, "samtalsId": "S3", "startTid": "nyss"},
               {k: v for k, v in good.items() if k != "samtalsId"}, {**good, "samtalsId": "S5", "anteckning": {"x": 1}},
               {**good, "samtalsId": "S6"}]
    path = tmp_path / "calls.json"
    text = json.dumps(records, ensure_ascii=False, indent=1)
    path.write_text(text, encoding="utf-8")
    items = list(read_call_json(path, config))
    assert [item.item for item in items] == ["1", "2", "3", "4", "5", "6"]
    errors = _errors(items)
    assert set(errors) == {"2", "3", "4", "5"}
    assert "not an object" in errors["2"] and "matches none" in errors["3"] and "lacks 'samtalsId'" in errors["4"]
    assert "holds a dict" in errors["5"]
    assert json.loads(items[1].payload) == ["inte", "ett", "objekt"]

    cut = tmp_path / "cut.json"
    cut.write_text(text[: text.index('"S6"') + 2], encoding="utf-8")
    items = list(read_call_json(cut, config))
    assert [item.item for item in items] == ["1", "2", "3", "4", "5", "6"]
    assert not isinstance(items[0].result, Exception)
    assert "truncated" in str(items[-1].result)


def test_json_lines_are_read_too(tmp_path, sources):
    path = tmp_path / "calls.jsonl"
    path.write_text('{"samtalsId": "L1", "startTid": "2026-11-02 08:05", "anteckning": "Hej"}\n'
                    '{"samtalsId": "L2", "startTid": "2026-11-02 08:06", "anteckning": "Hallå"}\n', encoding="utf-8")
    assert [item.result.external_id for item in read_call_json(path, sources["vendor_b"])] == ["vendor_b:L1", "vendor_b:L2"]


def test_other_kinds_validate(tmp_path):
    assert MailFolderSource(kind="maildir", name="md", path=Path("x")).path == Path("x")
    imap = ImapSource(kind="imap", name="kc", host="h", user="u")
    assert imap.password_env == "TRIAGE_IMAP_PASSWORD" and imap.processed == "keyword"
    assert CallLogSource.model_fields["encoding"].default == "auto"
