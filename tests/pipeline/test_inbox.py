"""The sample inbox generator: real .eml files and two call-log layouts, deterministic by seed, readable by ingestion."""

from __future__ import annotations

import csv
import json
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from pipeline.corpus import CorpusItem
from pipeline.inbox import VENDOR_A_COLUMNS, VENDOR_B_KEYS, CallRecord, InboxOptions, MailFile, generate_inbox, write_inbox
from pipeline.ingest import parse_eml, read_call_log


def _item(number: int, channel: str, subject: str | None, body: str, topic: str, lang: str = "sv") -> CorpusItem:
    return CorpusItem(id=f"t{number:03d}", channel=channel, subject=subject, body=body, lang=lang, topic=topic,
                      urgency="normal", source="test")


ITEMS = [
    _item(1, "email", "Sophämtning på Åkervägen",
          "Soptunnan har inte tömts på två veckor och det luktar illa. Kan ni skicka någon?\n\nMvh\nÖrjan", "avfall"),
    _item(2, "email", "Bygglov för altan",
          "Behöver jag bygglov för en altan på 25 kvadratmeter bakom huset? Den blir 60 cm hög.\n\nTack på förhand", "bygglov"),
    # An en dash and a euro sign: not in iso-8859-1, so these never go out in it.
    _item(3, "email", "Avgift – förskola",
          "Fakturan för förskolan är på 1 500 € – fast vi bara haft plats i två veckor. Är det rätt?", "faktura_avgift"),
    _item(4, "email", "Färdtjänst till sjukhuset",
          "Min mamma behöver färdtjänst till sjukhuset på torsdag. Hur bokar vi den resan?", "fardtjanst"),
    _item(5, "email", "Snow on the footpath",
          "The footpath by the school has not been cleared of snow for three days. Children walk in the road.",
          "vinterunderhall", "en"),
    _item(6, "email", "Buller från bygget",
          "Bygget bredvid oss börjar redan klockan sex på morgonen med spikpistoler. Är det tillåtet?",
          "miljo_halsoskydd"),
    _item(7, "call", None, "Ringde ang. trasig gatlampa vid busshållplatsen, vill bli uppringd. Åtgärd: felanmält.",
          "gata_trafik"),
    _item(8, "call", None, "Fråga om skolskjuts för dottern som börjar i årskurs ett; hänvisad till blankett på webben.",
          "skolskjuts"),
]
BY_ID = {item.id: item for item in ITEMS}
REPLY_PREFIX = re.compile(r"^(?:SV|Sv|Re): ")


def _parse(data: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(data)  # type: ignore[return-value]


def _first_sentence(text: str) -> str:
    return re.match(r"(.+?[.!?])(?:\s|$)", text).group(1)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _mails(summary) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(summary.mail_dir.glob("*.eml"))]


def test_the_demo_call_still_works(tmp_path):
    summary = write_inbox(ITEMS, tmp_path / "inbox", seed=7)
    assert summary.emails + summary.calls == len(ITEMS)
    assert summary.mail_dir.is_dir() and summary.call_log is not None and summary.call_log.is_file()
    assert len(list(summary.mail_dir.glob("*.eml"))) == summary.emails + summary.auto_replies + summary.bounces


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    options = {"count": 80, "attachment_share": 0.2, "thread_share": 0.3, "auto_reply_share": 0.1, "bounce_share": 0.1}
    write_inbox(ITEMS, tmp_path / "a", seed=11, **options)
    write_inbox(ITEMS, tmp_path / "b", seed=11, **options)
    write_inbox(ITEMS, tmp_path / "c", seed=12, **options)
    first, again, other = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert first and first == again
    assert first != other
    assert first["calls.csv"] != other["calls.csv"]


def test_every_inquiry_round_trips_through_ingestion_in_every_rendering(tmp_path):
    options = InboxOptions(thread_share=0.25, attachment_share=0.2, auto_reply_share=0.05, bounce_share=0.05)
    records = list(generate_inbox(ITEMS, seed=5, count=480, options=options))
    summary = write_inbox(ITEMS, tmp_path, seed=5, count=480, thread_share=0.25, attachment_share=0.2,
                          auto_reply_share=0.05, bounce_share=0.05)
    mails = [r for r in records if isinstance(r, MailFile)]
    assert [data for _, data in _mails(summary)] == [m.data for m in mails]  # write_inbox writes the stream as is

    top_types, charsets, encodings, combinations, attachment_types = set(), set(), set(), set(), set()
    encoded_subjects = encoded_names = 0
    for mail in mails:
        if mail.kind not in ("inquiry", "reply"):
            continue
        item = BY_ID[mail.item_id]
        stored = parse_eml(mail.data, source="maildrop", raw_ref="x.eml")
        assert stored is not None
        assert _squash(_first_sentence(item.body)) in _squash(stored.inquiry.body), mail.data[:2000]
        message = _parse(mail.data)
        top_types.add(message.get_content_type())
        for part in message.walk():
            if part.is_attachment():
                assert part.get_filename() and part.get_payload(decode=True)
                attachment_types.add(part.get_content_type())
            elif part.get_content_maintype() == "text":
                charset, encoding = part.get_content_charset(), part.get("Content-Transfer-Encoding")
                charsets.add(charset)
                encodings.add(encoding)
                combinations.add((charset, encoding))
                if item.id == "t003":
                    assert charset != "iso-8859-1"
        encoded_subjects += bool(re.search(rb"^Subject: =\?", mail.data, re.MULTILINE))
        encoded_names += bool(re.search(rb"^From: =\?", mail.data, re.MULTILINE))
        assert str(message["Subject"] or "").removeprefix("SV: ").removeprefix("Sv: ").removeprefix("Re: ") == item.subject

    assert {"text/plain", "text/html", "multipart/alternative", "multipart/mixed"} <= top_types
    assert {"utf-8", "iso-8859-1", "windows-1252"} <= charsets
    assert {"quoted-printable", "base64", "8bit"} <= encodings
    assert {("windows-1252", "base64"), ("windows-1252", "quoted-printable"), ("iso-8859-1", "8bit"),
            ("iso-8859-1", "quoted-printable")} <= combinations
    assert {"application/pdf", "image/jpeg"} <= attachment_types
    assert encoded_subjects > 0 and encoded_names > 0
    assert summary.attachments == sum(m.attachments for m in mails) > 0


def test_html_only_mail_reads_like_the_plain_text():
    options = InboxOptions(thread_share=0.0, attachment_share=0.0, auto_reply_share=0.0, bounce_share=0.0)
    html_only = [m for m in generate_inbox(ITEMS, seed=3, count=200, options=options)
                 if isinstance(m, MailFile) and _parse(m.data).get_content_type() == "text/html"]
    assert html_only
    for mail in html_only:
        body = parse_eml(mail.data, source="m", raw_ref="x").inquiry.body
        assert "<" not in body and "&amp;" not in body
        assert _first_sentence(BY_ID[mail.item_id].body) in body


def test_auto_replies_are_skipped_and_bounces_are_delivery_reports(tmp_path):
    summary = write_inbox(ITEMS, tmp_path, seed=9, count=300, auto_reply_share=0.15, bounce_share=0.1)
    assert summary.auto_replies > 0 and summary.bounces > 0
    autos = bounces = 0
    for name, data in _mails(summary):
        message = _parse(data)
        if message.get_content_type() == "multipart/report":
            bounces += 1
            assert message.get_param("report-type") == "delivery-status"
            assert "mailer-daemon" in str(message["From"]).lower()
            assert "message/delivery-status" in {part.get_content_type() for part in message.walk()}
        elif parse_eml(data, source="m", raw_ref=name) is None:
            autos += 1
    assert (autos, bounces) == (summary.auto_replies, summary.bounces)


def test_replies_answer_an_earlier_message_and_quote_it(tmp_path):
    summary = write_inbox(ITEMS, tmp_path, seed=4, count=300, thread_share=0.4, auto_reply_share=0.0, bounce_share=0.0)
    seen: set[str] = set()
    replies = 0
    for name, data in _mails(summary):
        message = _parse(data)
        parent = message["In-Reply-To"]
        if parent is not None:
            replies += 1
            assert parent in seen, name
            assert str(message["References"]).split()[-1] == parent
            assert REPLY_PREFIX.match(str(message["Subject"]))
            text = message.get_body(preferencelist=("plain", "html")).get_content()
            assert "> " in text or "Från:" in text or "blockquote" in text
            stored = parse_eml(data, source="m", raw_ref=name)
            assert stored.raw_body != stored.inquiry.body  # the quoted history is cut by the cleaning
        seen.add(str(message["Message-ID"]))
    assert replies == summary.replies > 0


def test_vendor_a_csv_is_read_by_ingestion_and_has_a_decimal_comma_duration(tmp_path):
    summary = write_inbox(ITEMS, tmp_path, seed=2, count=120)
    assert summary.call_log == tmp_path / "calls.csv"
    with summary.call_log.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert rows and tuple(rows[0]) == VENDOR_A_COLUMNS
    assert all(re.fullmatch(r"\d+,\d", row["duration_min"]) for row in rows)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", row["started_at"]) for row in rows)
    results = [item.result for item in read_call_log(summary.call_log)]
    assert len(results) == summary.calls - summary.calls_b == len(rows)
    assert not [r for r in results if isinstance(r, Exception)]
    assert {r.inquiry.body for r in results} <= {BY_ID["t007"].body, BY_ID["t008"].body}


def test_vendor_a_in_windows_1252(tmp_path):
    summary = write_inbox(ITEMS, tmp_path, seed=2, count=40, call_layouts=("a",), call_encoding="windows-1252")
    raw = summary.call_log.read_bytes()
    assert summary.call_log_b is None and summary.calls_b == 0
    assert "Åtgärd: felanmält" in raw.decode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_vendor_b_json_has_the_swedish_keys(tmp_path):
    summary = write_inbox(ITEMS, tmp_path, seed=2, count=200, call_layouts=("b",))
    assert summary.call_log is None and summary.calls == summary.calls_b > 0
    calls = json.loads(summary.call_log_b.read_text(encoding="utf-8"))
    assert len(calls) == summary.calls
    for call in calls:
        assert tuple(call) == VENDOR_B_KEYS
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", call["startTid"])
        assert isinstance(call["samtalslangd_sek"], int) and call["samtalslangd_sek"] > 0
        assert call["anteckning"] in (BY_ID["t007"].body, BY_ID["t008"].body)
        assert call["transkribering"] is None or isinstance(call["transkribering"], str)
    assert any(call["transkribering"] for call in calls) and any(call["transkribering"] is None for call in calls)


def test_calls_are_split_between_both_layouts_by_default(tmp_path):
    summary = write_inbox(ITEMS, tmp_path, seed=2, count=200)
    with summary.call_log.open(encoding="utf-8", newline="") as handle:
        in_a = sum(1 for _ in csv.DictReader(handle, delimiter=";"))
    in_b = len(json.loads(summary.call_log_b.read_text(encoding="utf-8")))
    assert in_a > 0 and in_b == summary.calls_b > 0 and in_a + in_b == summary.calls


def test_count_beyond_the_items_cycles_them_with_unique_ids(tmp_path):
    count = 6 * len(ITEMS)
    summary = write_inbox(ITEMS, tmp_path, seed=1, count=count, thread_share=0.2)
    assert summary.emails + summary.calls == count
    message_ids = [str(_parse(data)["Message-ID"]) for _, data in _mails(summary)]
    assert len(message_ids) == len(set(message_ids))
    with summary.call_log.open(encoding="utf-8", newline="") as handle:
        call_ids = [row["call_id"] for row in csv.DictReader(handle, delimiter=";")]
    call_ids += [call["samtalsId"] for call in json.loads(summary.call_log_b.read_text(encoding="utf-8"))]
    assert len(call_ids) == summary.calls == len(set(call_ids))


def test_a_rerun_replaces_the_earlier_generated_files_only(tmp_path):
    write_inbox(ITEMS, tmp_path / "inbox", seed=1, count=60)
    keep = tmp_path / "inbox" / "mail" / "handmade.eml"
    keep.write_bytes(b"Subject: mine\n\nhej\n")
    write_inbox(ITEMS, tmp_path / "inbox", seed=1, count=8)
    write_inbox(ITEMS, tmp_path / "fresh", seed=1, count=8)
    assert _files(tmp_path / "inbox") == {**_files(tmp_path / "fresh"), "mail/handmade.eml": keep.read_bytes()}


def test_large_attachments_and_mail_without_subject(tmp_path):
    items = [_item(20, "email", None, "Jag bifogar bilder på vattenskadan i källaren. Vad gör vi nu?", "vatten_avlopp")]
    options = InboxOptions(large_attachment_share=1.0, thread_share=0.0, auto_reply_share=0.0, bounce_share=0.0)
    mails = [m for m in generate_inbox(items, seed=1, count=2, options=options) if isinstance(m, MailFile)]
    for mail in mails:
        message = _parse(mail.data)
        sizes = [len(part.get_payload(decode=True)) for part in message.iter_attachments()]
        assert sizes and max(sizes) > 1_000_000
        stored = parse_eml(mail.data, source="m", raw_ref="x")
        assert stored.inquiry.subject is None and "vattenskadan" in stored.inquiry.body


def test_generate_inbox_streams_calls_and_mail():
    records = list(generate_inbox(ITEMS, seed=1, count=16, options=InboxOptions(call_layouts=("a",))))
    assert {r.layout for r in records if isinstance(r, CallRecord)} == {"a"}
    assert sum(isinstance(r, CallRecord) for r in records) == 4


@pytest.mark.parametrize("kwargs", [{"thread_share": 1.5}, {"call_layouts": ("c",)}, {"call_layouts": ()},
                                    {"call_encoding": "no-such-codec"}, {"count": -1}])
def test_bad_options_are_refused(tmp_path, kwargs):
    with pytest.raises((ValueError, LookupError)):
        write_inbox(ITEMS, tmp_path, **kwargs)
    assert not (tmp_path / "mail").exists()  # refused before anything is written


def test_no_items_but_a_count_is_refused(tmp_path):
    with pytest.raises(ValueError, match="from 0 items"):
        write_inbox([], tmp_path, count=3)
