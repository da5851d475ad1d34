"""Reading e-mails and call logs into clean, redacted inquiries."""

import re
from email.message import EmailMessage

import pytest

from pipeline.domain import Channel
from pipeline.ingest import IngestError, parse_eml, read_call_log, read_eml_folder, store_messages
from pipeline.store import open_store


def _mail(body: str, *, subtype: str = "plain", charset: str = "utf-8", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Anna Berg <anna.berg@exempel.se>"
    message["To"] = "kontaktcenter@solvik.se"
    message["Subject"] = headers.pop("Subject", "Fråga om bygglov")
    message["Date"] = "Mon, 02 Nov 2026 09:15:00 +0100"
    message["Message-ID"] = headers.pop("MessageID", "<abc123@exempel.se>")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body, subtype=subtype, charset=charset)
    return bytes(message)


def test_plain_mail_becomes_a_clean_redacted_inquiry():
    data = _mail("Hej! Behöver jag bygglov för ett plank?\nMitt nr 070-123 45 67\n\nMvh\nAnna Berg")
    stored = parse_eml(data, source="maildrop", raw_ref="x.eml")
    inquiry = stored.inquiry
    assert inquiry.channel == Channel.EMAIL and inquiry.language == "sv"
    assert inquiry.body == "Hej! Behöver jag bygglov för ett plank?\nMitt nr [TELEFON]"
    assert inquiry.sender == "[EPOST]"
    assert "070-123 45 67" in stored.raw_body
    assert inquiry.received_at.utcoffset().total_seconds() == 0


def test_html_only_latin1_mail_is_read():
    data = _mail("<html><body><p>Gatlampan på Åsvägen är trasig.</p><p>Tack!</p></body></html>",
                 subtype="html", charset="iso-8859-1")
    assert parse_eml(data, source="m", raw_ref="x").inquiry.body.startswith("Gatlampan på Åsvägen är trasig.")


def test_auto_replies_are_not_inquiries():
    assert parse_eml(_mail("Jag är ledig.", Auto_Submitted="auto-replied"), source="m", raw_ref="x") is None
    assert parse_eml(_mail("Ledig.", Subject="Frånvaromeddelande: semester"), source="m", raw_ref="x") is None


def test_empty_mail_is_an_error():
    with pytest.raises(IngestError):
        parse_eml(_mail("   \n"), source="m", raw_ref="x")


def test_folder_and_call_log_are_stored_once(tmp_path, store_url):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    (mail_dir / "1.eml").write_bytes(_mail("Soptunnan är inte tömd.", MessageID="<1@x>"))
    (mail_dir / "2.eml").write_bytes(_mail("   ", MessageID="<2@x>"))
    calls = tmp_path / "calls.csv"
    calls.write_text(
        "call_id;started_at;caller_number;agent;reason;notes\n"
        "C1;2026-11-02T08:05:00;070-111 22 33;kc-anna;;Ringde ang. trasig gatlampa, vill bli uppringd\n"
        "C2;inte-ett-datum;070-111 22 34;kc-anna;;Fråga om färdtjänst\n",
        encoding="utf-8",
    )
    store = open_store(store_url)
    mail = store_messages(read_eml_folder(mail_dir), store)
    assert (mail.read, mail.stored, len(mail.failed)) == (2, 1, 1)
    call = store_messages(read_call_log(calls), store)
    assert (call.stored, len(call.failed)) == (1, 1) and call.failed[0][0].endswith("calls.csv:3")
    again = store_messages(read_eml_folder(mail_dir), store)
    assert again.stored == 0
    assert store.count_by_state() == {"new": 2}
    store.dispose()


def test_call_log_without_required_columns_is_rejected(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("id;notes\n1;hej\n", encoding="utf-8")
    (item,) = read_call_log(path)
    assert isinstance(item.result, IngestError) and "lacks the columns" in str(item.result)


def test_bounces_are_not_inquiries():
    bounce = _mail("Delivery to the following recipient failed permanently", Subject="Undeliverable: Sopor")
    bounce = bounce.replace(b"From: Anna Berg <anna.berg@exempel.se>", b"From: MAILER-DAEMON@mail.exempel.se")
    assert parse_eml(bounce, source="m", raw_ref="x") is None


@pytest.mark.parametrize(("headers", "subject"), [
    ({"X_Autoreply": "yes"}, "SV: Ditt ärende"),
    ({"X_Autorespond": "Automatic"}, "Re: Sopor"),
    ({"Auto_Submitted": "auto-generated"}, "Kvittens"),
    ({}, "Out of office: Re: bygglov"),
    ({}, "Automatiskt svar: Ditt ärende hos Solviks kommun"),
    ({}, "Autosvar: semester"),
    ({}, "=?utf-8?q?Fr=C3=A5nvaromeddelande=3A_SV=3A_=C3=84rende?="),  # the marker inside an RFC 2047 word
])
def test_every_auto_reply_marker_is_recognised(headers, subject):
    data = _mail("Jag är på semester till och med den 20 november.", **headers)
    data = re.sub(rb"(?m)^Subject:.*(\n[ \t].*)*", b"Subject: " + subject.encode(), data, count=1)
    assert parse_eml(data, source="m", raw_ref="x") is None


def test_a_delivery_report_is_a_bounce_even_from_an_ordinary_sender():
    report = (b"From: Mail Delivery System <system@mx.exempel.se>\nSubject: Olevererbart: Ditt svar\n"
              b"Message-ID: <dsn1@mx.exempel.se>\nMIME-Version: 1.0\n"
              b'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\n\n'
              b"--R\nContent-Type: text/plain\n\nDet gick inte att leverera meddelandet.\n"
              b"--R\nContent-Type: message/delivery-status\n\nAction: failed\nStatus: 5.1.1\n--R--\n")
    assert parse_eml(report, source="m", raw_ref="x") is None


def test_an_ordinary_reply_is_not_an_auto_reply():
    data = _mail("Tack, men vattnet är fortfarande brunt.", Subject="SV: Brunt vatten")
    assert parse_eml(data, source="m", raw_ref="x").inquiry.subject == "SV: Brunt vatten"
