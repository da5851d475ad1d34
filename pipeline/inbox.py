"""Sample inbox generator for demos and ingestion tests: renders corpus items as .eml files and a call log.

Never use its output for accuracy claims: it is the corpus again, in another envelope."""

from __future__ import annotations

import csv
import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.corpus import CorpusItem
from pipeline.ingest import CALL_LOG_COLUMNS

STOCKHOLM = ZoneInfo("Europe/Stockholm")
_FIRST = ["Anna", "Lars", "Fatima", "Mohammed", "Eva", "Johan", "Sara", "Ali", "Maria", "Erik", "Aisha", "Piotr"]
_LAST = ["Andersson", "Nilsson", "Hassan", "Karlsson", "Yilmaz", "Lindqvist", "Nowak", "Berg", "Ahmed", "Virtanen"]
_AGENTS = ["kc-anna", "kc-jonas", "kc-leila", "kc-per"]


@dataclass(frozen=True)
class InboxSummary:
    emails: int
    auto_replies: int
    calls: int
    mail_dir: Path
    call_log: Path


def _sender(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    domain = rng.choice(["gmail.com", "hotmail.se", "telia.com", "outlook.com", "exempel.se"])
    return f"{first} {last}", f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@{domain}"


def render_email(item: CorpusItem, received_at: datetime, rng: random.Random) -> bytes:
    """One corpus item as an e-mail: plain text, or HTML only, in utf-8 or Latin-1."""
    name, address = _sender(rng)
    message = EmailMessage()
    message["From"] = f"{name} <{address}>"
    message["To"] = "kontaktcenter@solvik.se"
    message["Subject"] = item.subject or ""
    message["Date"] = format_datetime(received_at)
    message["Message-ID"] = make_msgid(idstring=hashlib.sha1(item.id.encode()).hexdigest()[:12], domain="mail.example")
    charset = "iso-8859-1" if rng.random() < 0.2 else "utf-8"
    try:
        item.body.encode(charset)
    except UnicodeEncodeError:
        charset = "utf-8"
    if rng.random() < 0.25:
        markup = "".join(f"<p>{escape(line)}</p>" for line in item.body.split("\n"))
        message.set_content(f"<html><body>{markup}</body></html>", subtype="html", charset=charset)
    else:
        message.set_content(item.body, charset=charset)
    return bytes(message)


def render_auto_reply(received_at: datetime, rng: random.Random) -> bytes:
    name, address = _sender(rng)
    message = EmailMessage()
    message["From"] = f"{name} <{address}>"
    message["To"] = "kontaktcenter@solvik.se"
    message["Subject"] = "Frånvaromeddelande: Svar på ditt ärende"
    message["Auto-Submitted"] = "auto-replied"
    message["Date"] = format_datetime(received_at)
    message["Message-ID"] = make_msgid(idstring=f"auto{rng.randint(0, 10**9)}", domain="mail.example")
    message.set_content("Jag är på semester till och med den 18 augusti och läser inte min e-post.")
    return bytes(message)


def write_inbox(items: list[CorpusItem], target: Path, *, seed: int = 7, auto_reply_share: float = 0.03) -> InboxSummary:
    """Write e-mail items as .eml files in target/mail and call items as target/calls.csv (deterministic)."""
    rng = random.Random(seed)
    mail_dir = target / "mail"
    mail_dir.mkdir(parents=True, exist_ok=True)
    call_log = target / "calls.csv"
    start = datetime(2026, 11, 2, 7, 30, tzinfo=STOCKHOLM)
    emails = calls = autos = 0
    call_rows: list[dict[str, str]] = []
    for index, item in enumerate(items):
        received_at = start + timedelta(minutes=17 * index + rng.randint(0, 15))
        if item.channel == "call":
            calls += 1
            call_rows.append(
                {
                    "call_id": f"CALL-{hashlib.sha1(item.id.encode()).hexdigest()[:10]}",
                    "started_at": received_at.replace(tzinfo=None).isoformat(timespec="seconds"),
                    "caller_number": f"07{rng.randint(0, 9)}-{rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
                    "agent": rng.choice(_AGENTS),
                    "reason": "",
                    "notes": item.body,
                }
            )
            continue
        emails += 1
        (mail_dir / f"{index:06d}.eml").write_bytes(render_email(item, received_at, rng))
        if rng.random() < auto_reply_share:
            autos += 1
            (mail_dir / f"{index:06d}-auto.eml").write_bytes(render_auto_reply(received_at, rng))
    with call_log.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CALL_LOG_COLUMNS), delimiter=";")
        writer.writeheader()
        writer.writerows(call_rows)
    return InboxSummary(emails=emails, auto_replies=autos, calls=calls, mail_dir=mail_dir, call_log=call_log)
