"""Sample inbox generator: renders corpus items as real .eml files and as call-log exports of two vendors.

For demos, load tests and ingestion tests only, never for accuracy claims: every inquiry is a corpus item again,
only in another envelope. What varies is the envelope, the way real mail and real exports vary:

* e-mails: text/plain, multipart/alternative or HTML only; utf-8, iso-8859-1 or windows-1252 (utf-8 when the text
  does not fit); quoted-printable, base64 or 8bit; RFC 2047 encoded subjects and display names; small (optionally
  large) PDF/JPEG attachments; replies in threads (In-Reply-To, References, a quoted earlier message); auto-replies
  and bounces (multipart/report) that are not inquiries at all;
* calls: vendor A, a semicolon CSV with the columns of `pipeline.ingest.CALL_LOG_COLUMNS` plus a decimal-comma
  duration, and vendor B, a JSON array with Swedish keys, sometimes with a transcript.

Everything is drawn from one `random.Random(seed)` and ids are hashes of seed, position and item id, so the same
items and seed give byte-identical files. Files are written one at a time while they are generated, so 100,000
messages need no more memory than ten.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import csv
import functools
import hashlib
import json
import random
import re
import unicodedata
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.utils import format_datetime, formataddr
from html import escape
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pipeline.corpus import CorpusItem
from pipeline.ingest import CALL_LOG_COLUMNS

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MAILBOX = "kontaktcenter@solvik.se"
MAIL_DIR_NAME = "mail"
VENDOR_A_FILE = "calls.csv"
VENDOR_B_FILE = "calls_vendor_b.json"
VENDOR_A_COLUMNS = (*CALL_LOG_COLUMNS, "duration_min")
VENDOR_B_KEYS = ("samtalsId", "startTid", "anropare", "handlaggare", "kategori", "anteckning", "transkribering",
                 "samtalslangd_sek")
CallLayout = Literal["a", "b"]
MailKind = Literal["inquiry", "reply", "auto_reply", "bounce"]

# Mondays 07:30 is where the clock starts; everything after it is drawn from the seed.
_START = datetime(2026, 11, 2, 7, 30)
# Files this module wrote earlier (also the old NNNNNN-auto.eml names); removed so a folder holds one run only.
_GENERATED_NAME = re.compile(r"^\d{6,}(?:-auto|-bounce)?\.eml$")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(?:\s|$)", re.DOTALL)

_FIRST_NAMES = (
    "Anna", "Eva", "Maria", "Karin", "Kerstin", "Ingrid", "Åsa", "Märta", "Linnéa", "Ebba", "Maja", "Elsa", "Agneta",
    "Birgitta", "Sofia", "Lars", "Erik", "Karl", "Johan", "Nils", "Olle", "Björn", "Göran", "Örjan", "Håkan", "Jörgen",
    "Torbjörn", "Kjell", "Stig", "Pär", "Måns", "Aino", "Päivi", "Juha", "Ánte", "Fatima", "Mohammed", "Ali", "Aisha",
    "Amina", "Yusuf", "Zainab", "Hussein", "Maryam", "Reza", "Shirin", "Abdirahman", "Hodan", "Faisal", "Nour",
    "Leyla", "Mehmet", "Ayşe", "Elif", "Piotr", "Agnieszka", "Katarzyna", "Dragan", "Jelena", "Milica", "Tigist",
    "Dawit", "Senait", "Olga", "Sergej", "Oksana", "Juan", "María", "José", "Priya", "Arjun", "Wei", "Minh", "Samir",
    "Rania", "Emir", "Amra", "Nikolaos", "Zeynep",
)
_LAST_NAMES = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Svensson",
    "Gustafsson", "Pettersson", "Lindqvist", "Öberg", "Åberg", "Ström", "Sjögren", "Lindström", "Hägglund",
    "Bäckström", "Nyström", "Wikström", "Mäkinen", "Virtanen", "Korhonen", "Labba", "Hassan", "Ahmed", "Mohamed",
    "Ali", "Hussein", "Abdi", "Warsame", "Yilmaz", "Kaya", "Öztürk", "Çelik", "Nowak", "Kowalski", "Wiśniewska",
    "Jovanović", "Petrović", "Hadžić", "Haile", "Tesfaye", "Ivanova", "Kovalenko", "García", "Rodríguez", "Nguyen",
    "Tran", "Hosseini", "Rahimi", "Karimi", "Khalil", "Haddad", "Kumar", "Chen", "Papadopoulos", "Müller",
)
_DOMAINS = (
    "gmail.com", "gmail.com", "hotmail.com", "hotmail.se", "outlook.com", "live.se", "yahoo.se", "icloud.com",
    "telia.com", "bredband.net", "spray.se", "comhem.se", "tele2.se", "ownit.se", "protonmail.com", "exempel.se",
)
_AGENT_IDS = ("kc-anna", "kc-jonas", "kc-leila", "kc-per", "kc-mirja", "kc-ahmed")
_AGENT_NAMES = ("Anna Lindgren", "Jonas Berg", "Leila Haddad", "Per Nyström", "Mirja Korhonen", "Ahmed Warsame")
# A coarse reason as an agent picks it from a drop-down: often left empty, often just "Övrigt".
_REASONS = {
    "avfall": "Avfall", "vatten_avlopp": "Vatten och avlopp", "bygglov": "Bygglov", "plan_mark": "Plan och mark",
    "gata_trafik": "Gata/trafik", "parkering": "Parkering", "vinterunderhall": "Snöröjning", "park_natur": "Park",
    "miljo_halsoskydd": "Miljö och hälsa", "livsmedel_tillstand": "Tillstånd", "forskola": "Förskola",
    "grundskola_fritids": "Skola", "gymnasie_vuxenutbildning": "Gymnasium/vux", "skolskjuts": "Skolskjuts",
    "aldreomsorg": "Äldreomsorg", "funktionsstod": "Funktionsstöd", "fardtjanst": "Färdtjänst",
    "ekonomiskt_bistand": "Socialtjänst", "barn_unga_familj": "Socialtjänst", "missbruk_vald": "Socialtjänst",
    "faktura_avgift": "Faktura", "kultur_bibliotek": "Kultur", "idrott_fritid": "Fritid",
    "arbete_naringsliv": "Näringsliv",
}
_SV_WEEKDAYS = ("mån", "tis", "ons", "tors", "fre", "lör", "sön")
_SV_MONTHS_SHORT = ("jan.", "feb.", "mars", "apr.", "maj", "juni", "juli", "aug.", "sep.", "okt.", "nov.", "dec.")
_SV_MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
              "november", "december")
_EN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MICROSOFT_DOMAINS = frozenset(("hotmail.com", "hotmail.se", "outlook.com", "live.se"))
_PDF_NAMES = ("Ansökan.pdf", "ansokan_bygglov.pdf", "Överklagande.pdf", "faktura.pdf", "ritning altan.pdf",
              "Intyg läkare.pdf", "scan0001.pdf")
_JPEG_NAMES = ("IMG_{n}.jpg", "bild.jpg", "foto på skadan.jpg", "20261102_{n}.jpg", "Skärmbild {n}.jpg")


@dataclass(frozen=True)
class InboxSummary:
    emails: int
    auto_replies: int
    calls: int
    mail_dir: Path
    call_log: Path | None
    call_log_b: Path | None = None
    replies: int = 0
    bounces: int = 0
    attachments: int = 0
    calls_b: int = 0


@dataclass(frozen=True)
class InboxOptions:
    """How much of each kind of envelope to generate; shares are per e-mail inquiry."""

    auto_reply_share: float = 0.03
    bounce_share: float = 0.01
    thread_share: float = 0.1
    attachment_share: float = 0.08
    large_attachment_share: float = 0.0
    call_layouts: tuple[CallLayout, ...] = ("a", "b")

    def __post_init__(self) -> None:
        for name in ("auto_reply_share", "bounce_share", "thread_share", "attachment_share", "large_attachment_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie between 0 and 1, not {getattr(self, name)}")
        if not self.call_layouts or not set(self.call_layouts) <= {"a", "b"}:
            raise ValueError(f"call_layouts must name 'a' and/or 'b', not {self.call_layouts!r}")


@dataclass(frozen=True)
class MailFile:
    """One rendered .eml file; `attachments` counts its attachment parts."""

    kind: MailKind
    data: bytes
    message_id: str
    attachments: int = 0
    item_id: str | None = None  # the corpus item an inquiry or reply carries; not written anywhere


@dataclass(frozen=True)
class CallRecord:
    """One call as a row of vendor A's CSV or an object of vendor B's JSON."""

    layout: CallLayout
    fields: dict[str, object]
    item_id: str = ""


@dataclass(frozen=True)
class _Person:
    name: str
    address: str


@dataclass(frozen=True)
class _Sent:
    """What a later reply in the same thread needs of an earlier message."""

    message_id: str
    references: tuple[str, ...]
    topic: str
    lang: str
    person: _Person
    sent_at: datetime
    subject: str
    body: str


@dataclass(frozen=True)
class _Part:
    headers: tuple[str, ...]
    body: bytes

    def render(self) -> bytes:
        return ("\n".join(self.headers) + "\n\n").encode("ascii") + self.body


# --- small helpers ---------------------------------------------------------------------------------------------


def _digest(seed: int, index: int, item_id: str, role: str) -> bytes:
    # Position and seed are part of every id, so cycled items and other seeds never collide.
    return hashlib.blake2b(f"{seed}\x00{index}\x00{item_id}\x00{role}".encode(), digest_size=20).digest()


_TRANSLITERATION = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "ł": "l", "đ": "d", "ı": "i", "Ł": "L", "Đ": "D"})


@functools.cache
def _ascii_token(name: str) -> str:
    """A name as it appears in an address: no accents, no spaces, lower case."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_TRANSLITERATION))
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


@functools.cache
def _header_charset(name: str, base64_words: bool) -> Charset:
    charset = Charset(name)
    charset.header_encoding = BASE64 if base64_words else QP
    return charset


def _fits(text: str, charset: str) -> bool:
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


@functools.lru_cache(maxsize=65_536)  # names and cycled subjects repeat; encoding them is the slowest step
def _encoded_words(text: str, charset: str, base64_words: bool, header_name: str) -> str:
    """RFC 2047 encoded words for a non-ASCII header text (folded), in charset when the text fits, else utf-8."""
    if not _fits(text, charset):
        charset = "utf-8"
    return Header(text, _header_charset(charset, base64_words), header_name=header_name).encode(linesep="\n")


def _unstructured(text: str, charset: str, base64_words: bool, header_name: str) -> str:
    return text if text.isascii() else _encoded_words(text, charset, base64_words, header_name)


def _mailbox(person: _Person, charset: str, base64_words: bool, header_name: str) -> str:
    if not person.name:
        return person.address
    if person.name.isascii():
        return formataddr((person.name, person.address))
    return f"{_encoded_words(person.name, charset, base64_words, header_name)} <{person.address}>"


def _person(rng: random.Random) -> _Person:
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    f, la = _ascii_token(first), _ascii_token(last)
    style = rng.random()
    if style < 0.35:
        local = f"{f}.{la}"
    elif style < 0.6:
        local = f"{f}{la}{rng.randint(1, 99)}"
    elif style < 0.75:
        local = f"{f[0]}{la}"
    elif style < 0.88:
        local = f"{f}_{la}{rng.randint(50, 99)}"
    else:
        local = f"{la}.{f}"
    display = rng.random()
    if display < 0.08:
        name = ""
    elif display < 0.16:
        name = f"{last}, {first}"
    elif display < 0.2:
        name = f"{first.lower()} {last.lower()}"
    else:
        name = f"{first} {last}"
    return _Person(name=name, address=f"{local}@{rng.choice(_DOMAINS)}")


def _profile(domain: str, rng: random.Random) -> str:
    """The mail client, which decides the look of ids, boundaries and HTML; mostly what goes with the provider."""
    if domain == "gmail.com":
        return "gmail" if rng.random() < 0.85 else "apple"
    if domain in _MICROSOFT_DOMAINS:
        return "outlook" if rng.random() < 0.8 else "apple"
    if domain == "icloud.com":
        return "apple"
    return rng.choice(("outlook", "apple", "thunderbird", "webmail", "webmail"))


def _message_id(profile: str, digest: bytes, domain: str) -> str:
    # Shaped like the ids the real clients write, but made of the digest rather than host and time.
    token = base64.urlsafe_b64encode(digest).decode().rstrip("=").replace("-", "x").replace("_", "y")
    if profile == "gmail":
        return f"<CA{token}@mail.gmail.com>"
    if profile == "outlook":
        host = f"AM{digest[16] % 9 + 1}PR0{digest[17] % 9}MB{digest[18] * 37}.eurprd0{digest[19] % 7 + 1}"
        return f"<{digest[:16].hex().upper()}@{host}.prod.outlook.com>"
    if profile in ("apple", "thunderbird"):
        text = str(uuid.UUID(bytes=digest[:16], version=4))
        return f"<{text.upper() if profile == 'apple' else text}@{domain}>"
    return f"<{int.from_bytes(digest[:6], 'big')}.{digest[6:14].hex()}@{domain}>"


def _boundary(profile: str, digest: bytes, level: int) -> str:
    hexed = digest.hex()
    if profile == "gmail":
        return f"0000000000{hexed[level:level + 16]}"
    if profile == "outlook":
        return f"_00{level}_{hexed[:24].upper()}_"
    if profile == "apple":
        return f"Apple-Mail={str(uuid.UUID(bytes=digest[:16], version=4)).upper()}{level}"
    return f"------------{hexed[level:level + 24]}"


def _mailer_headers(profile: str, rng: random.Random, has_attachment: bool) -> list[tuple[str, str]]:
    if profile == "outlook":
        return [("X-MS-Has-Attach", "yes" if has_attachment else ""), ("Content-Language", rng.choice(("sv-SE", "en-US")))]
    if profile == "apple":
        return [("X-Mailer", rng.choice(("iPhone Mail (21G93)", "Apple Mail (2.3774.500.171.1.1)")))]
    if profile == "thunderbird":
        return [("User-Agent", "Mozilla Thunderbird")]
    if profile == "webmail":
        return [("X-Mailer", rng.choice(("Roundcube Webmail/1.6.9", "Telia Webmail", "Zimbra 10.0")))]
    return []


def _first_sentence(text: str) -> str:
    match = _FIRST_SENTENCE.match(text.strip())
    sentence = match.group(1) if match else text.strip()
    return " ".join(sentence.split())[:200]


# --- text parts ------------------------------------------------------------------------------------------------


def _charset_for(text: str, rng: random.Random) -> str:
    draw = rng.random()
    charset = "utf-8" if draw < 0.55 else "iso-8859-1" if draw < 0.77 else "windows-1252"
    return charset if _fits(text, charset) else "utf-8"


def _charset_label(charset: str, profile: str) -> str:
    # Clients spell charset names differently (UTF-8, Windows-1252); parsers must accept any case.
    if profile in ("gmail", "apple"):
        return charset.upper() if charset != "windows-1252" else charset
    return "Windows-1252" if profile == "outlook" and charset == "windows-1252" else charset


def _cte(rng: random.Random) -> str:
    draw = rng.random()
    return "quoted-printable" if draw < 0.38 else "base64" if draw < 0.64 else "8bit"


def _text_part(text: str, subtype: str, charset: str, cte: str, profile: str) -> _Part:
    # HTML may carry what the charset lacks as character references, as mail clients do.
    raw = text.encode(charset, errors="xmlcharrefreplace" if subtype == "html" else "strict")
    if cte == "8bit" and raw.isascii():
        cte = "7bit"
    if cte in ("7bit", "8bit") and max(len(line) for line in raw.split(b"\n")) > 990:
        cte = "quoted-printable"  # SMTP allows at most 998 octets a line; long lines need an encoding
    if cte == "base64":
        body = base64.encodebytes(raw.replace(b"\n", b"\r\n"))  # text in base64 is canonical CRLF text
    elif cte == "quoted-printable":
        body = binascii.b2a_qp(raw, istext=True) + b"\n"
    else:
        body = raw + b"\n"
    label = _charset_label(charset, profile)
    content_type = f'text/{subtype}; charset="{label}"' if profile in ("gmail", "outlook") else f"text/{subtype}; charset={label}"
    if profile == "thunderbird" and subtype == "plain":
        content_type += "; format=flowed"
    return _Part((f"Content-Type: {content_type}", f"Content-Transfer-Encoding: {cte}"), body)


def _multipart(subtype: str, children: Sequence[_Part], boundary: str, extra: str = "") -> _Part:
    chunks = [b"This is a multi-part message in MIME format.\n"] if subtype != "alternative" else []
    for child in children:
        chunks += [f"\n--{boundary}\n".encode("ascii"), child.render()]
    chunks.append(f"\n--{boundary}--\n".encode("ascii"))
    return _Part((f'Content-Type: multipart/{subtype};{extra} boundary="{boundary}"',), b"".join(chunks))


def _html_lines(text: str, style: str) -> str:
    paragraphs = [p.split("\n") for p in _PARAGRAPH_BREAK.split(text.strip())]
    if style == "outlook":
        rows: list[str] = []
        for paragraph in paragraphs:
            rows += [f'<p class="MsoNormal">{escape(line)}</p>' for line in paragraph]
            rows.append('<p class="MsoNormal">&nbsp;</p>')
        return "\n".join(rows)
    if style == "gmail":
        return '<div dir="ltr">' + "<br><br>".join("<br>".join(escape(x) for x in p) for p in paragraphs) + "</div>"
    return "\n".join("<p>" + "<br>".join(escape(x) for x in p) + "</p>" for p in paragraphs)


def _html_document(inner: str, profile: str, charset: str) -> str:
    if profile == "gmail":
        return inner  # Gmail's HTML part is a bare fragment
    if profile == "outlook":
        return (
            '<html xmlns:o="urn:schemas-microsoft-com:office:office">\n<head>\n'
            f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">\n'
            '<style><!-- p.MsoNormal {margin:0cm; font-size:11.0pt; font-family:"Calibri",sans-serif;} --></style>\n'
            f'</head>\n<body lang="SV" link="#0563C1">\n<div class="WordSection1">\n{inner}\n</div>\n</body>\n</html>'
        )
    return (f'<html><head><meta http-equiv="content-type" content="text/html; charset={charset}"></head>'
            f'<body style="overflow-wrap: break-word;">\n{inner}\n</body></html>')


# --- replies ---------------------------------------------------------------------------------------------------


def _attribution(style: str, parent: _Sent) -> str:
    when, who = parent.sent_at, parent.person
    sender = f"{who.name} <{who.address}>" if who.name else who.address
    day_sv = f"{when.day} {_SV_MONTHS_SHORT[when.month - 1]} {when.year} kl. {when:%H:%M}"
    if style == "sv":
        return f"Den {_SV_WEEKDAYS[when.weekday()]} {day_sv} skrev {sender}:"
    if style == "apple":
        # Apple Mail leaves out the leading "Den" (which the cleaning does not recognise); real inboxes have this too.
        return f"{day_sv} skrev {sender}:"
    day_en = f"{_EN_WEEKDAYS[when.weekday()]}, {when.day} {_EN_MONTHS[when.month - 1]} {when.year} at {when:%H:%M}"
    return f"On {day_en}, {sender} wrote:"


def _outlook_header_block(parent: _Sent) -> list[str]:
    when, who = parent.sent_at, parent.person
    sender = f"{who.name} <{who.address}>" if who.name else who.address
    return [f"Från: {sender}", f"Skickat: den {when.day} {_SV_MONTHS[when.month - 1]} {when.year} {when:%H:%M}",
            f"Till: Kontaktcenter <{MAILBOX}>", f"Ämne: {parent.subject}"]


def _quote_style(profile: str, lang: str) -> str:
    if profile == "outlook":
        return "outlook"
    if profile == "apple":
        return "apple"
    return "en" if lang == "en" else "sv"


def _plain_with_quote(new_text: str, parent: _Sent | None, style: str) -> str:
    if parent is None:
        return new_text
    if style == "outlook":
        block = "\n".join(_outlook_header_block(parent))
        return f"{new_text}\n\n{'_' * 32}\n{block}\n\n{parent.body}"
    quoted = "\n".join(f"> {line}" if line else ">" for line in parent.body.split("\n"))
    return f"{new_text}\n\n{_attribution(style, parent)}\n\n{quoted}"


def _html_with_quote(new_text: str, parent: _Sent | None, style: str, profile: str) -> str:
    body = _html_lines(new_text, profile if profile in ("gmail", "outlook") else "p")
    if parent is None:
        return body
    if style == "outlook":
        fields = (line.split(": ", 1) for line in _outlook_header_block(parent))
        header = "<br>".join(f"<b>{escape(name)}:</b> {escape(value)}" for name, value in fields)
        return (f'{body}\n<div id="appendonsend"></div>\n<hr style="display:inline-block;width:98%" tabindex="-1">\n'
                f'<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt">{header}</font>'
                f"<div>&nbsp;</div></div>\n<div>{_html_lines(parent.body, 'p')}</div>")
    if style == "apple":
        return (f'{body}<div><br><blockquote type="cite"><div>{escape(_attribution(style, parent))}</div><br>'
                f"<div>{_html_lines(parent.body, 'p')}</div></blockquote></div>")
    return (f'{body}<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">{escape(_attribution(style, parent))}'
            '<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
            f'rgb(204,204,204);padding-left:1ex">{_html_lines(parent.body, "gmail")}</blockquote></div>')


# --- attachments -----------------------------------------------------------------------------------------------


def _attachment(rng: random.Random, *, large: bool) -> _Part:
    """A PDF- or JPEG-like blob with a filename; random bytes, so it does not compress like real files either."""
    size = rng.randint(2_000_000, 6_000_000) if large else rng.randint(1_500, 24_000)
    if rng.random() < 0.5:
        content_type, filename = "application/pdf", rng.choice(_PDF_NAMES)
        data = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Length "
                + str(size).encode() + b" >>\nstream\n" + rng.randbytes(size) + b"\nendstream\nendobj\n%%EOF\n")
    else:
        content_type, filename = "image/jpeg", rng.choice(_JPEG_NAMES).format(n=rng.randint(1000, 9999))
        data = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00" + rng.randbytes(size) + b"\xff\xd9"
    if filename.isascii():
        name_param = f'name="{filename}"'
        file_param = f'filename="{filename}"'
    elif rng.random() < 0.5:
        # RFC 2231, as Thunderbird writes it.
        quoted = "utf-8''" + "".join(
            chr(b) if chr(b).isalnum() and b < 128 or chr(b) in ".-_" else f"%{b:02X}" for b in filename.encode())
        name_param, file_param = f"name*={quoted}", f"filename*={quoted}"
    else:
        # An RFC 2047 word inside the quoted parameter, as Outlook and Gmail write it (not standard, but everywhere).
        word = Header(filename, _header_charset("utf-8", True)).encode(maxlinelen=998)
        name_param, file_param = f'name="{word}"', f'filename="{word}"'
    return _Part((f"Content-Type: {content_type}; {name_param}", f"Content-Disposition: attachment; {file_param}",
                  "Content-Transfer-Encoding: base64"), base64.encodebytes(data))


# --- whole messages --------------------------------------------------------------------------------------------


def _date_header(sent_at: datetime, rng: random.Random) -> str:
    local = sent_at.replace(tzinfo=STOCKHOLM)
    # Some servers and clients stamp UTC; both are valid.
    return format_datetime(local.astimezone(UTC) if rng.random() < 0.2 else local)


def _assemble(headers: list[tuple[str, str]], part: _Part) -> bytes:
    lines = [f"{name}: {value}" if value else f"{name}:" for name, value in headers]
    lines += part.headers
    return ("MIME-Version: 1.0\n" + "\n".join(lines) + "\n\n").encode("ascii") + part.body


def _render_inquiry(
    item: CorpusItem, person: _Person, sent_at: datetime, digest: bytes, parent: _Sent | None, attachment: _Part | None,
    rng: random.Random,
) -> tuple[bytes, _Sent]:
    domain = person.address.rsplit("@", 1)[1]
    profile = _profile(domain, rng)
    message_id = _message_id(profile, digest, domain)
    style = _quote_style(profile, item.lang)
    new_text = item.body.replace("\r\n", "\n").strip()
    plain = _plain_with_quote(new_text, parent, style)
    charset = _charset_for(plain, rng)
    structure = rng.choices(("plain", "alternative", "html"), weights=(45, 35, 20))[0]
    if structure == "plain":
        body = _text_part(plain, "plain", charset, _cte(rng), profile)
    else:
        label = _charset_label(charset, profile)
        html = _html_document(_html_with_quote(new_text, parent, style, profile), profile, label)
        html_part = _text_part(html, "html", charset, _cte(rng), profile)
        if structure == "html":
            body = html_part
        else:
            plain_part = _text_part(plain, "plain", charset, _cte(rng), profile)
            body = _multipart("alternative", (plain_part, html_part), _boundary(profile, digest, 1))
    if attachment is not None:
        body = _multipart("mixed", (body, attachment), _boundary(profile, digest, 0))

    subject = item.subject or ""
    references: tuple[str, ...] = ()
    if parent is not None:
        prefix = rng.choice(("SV: ", "SV: ", "Sv: ", "Re: ")) if style != "en" else "Re: "
        # The item's own subject where it has one, so the subject and body still belong together.
        subject = prefix + (item.subject or parent.subject)
        references = (*parent.references, parent.message_id)[-10:]
    base64_words = rng.random() < 0.5
    received = format_datetime(sent_at.replace(tzinfo=STOCKHOLM))
    headers = [
        ("Received", f"from mx.{domain} by mx1.solvik.se with ESMTPS id {digest[14:20].hex()}; {received}"),
        ("From", _mailbox(person, charset, base64_words, "From")),
        ("To", rng.choice((MAILBOX, f"Kontaktcenter <{MAILBOX}>", f'"Solviks kommun" <{MAILBOX}>'))),
    ]
    if subject or rng.random() < 0.5:  # a mail without a subject may lack the header or have it empty
        headers.append(("Subject", _unstructured(subject, charset, base64_words, "Subject")))
    headers += [("Date", _date_header(sent_at, rng)), ("Message-ID", message_id)]
    if parent is not None:
        headers += [("In-Reply-To", parent.message_id), ("References", "\n ".join(references))]
    headers += _mailer_headers(profile, rng, attachment is not None)
    sent = _Sent(message_id=message_id, references=references, topic=item.topic, lang=item.lang, person=person,
                 sent_at=sent_at, subject=subject, body=new_text)
    return _assemble(headers, body), sent


_AUTO_BODIES = (
    ("sv", "Hej!\n\nJag är på semester till och med den {day} {month} och läser inte min e-post under tiden.\n"
           "Vid brådskande ärenden, kontakta kommunens kontaktcenter.\n\nVänliga hälsningar"),
    ("sv", "Tack för ditt mejl!\n\nJag är föräldraledig och återkommer den {day} {month}. Din e-post vidarebefordras inte."),
    ("en", "Thank you for your message. I am out of the office until {day} {month_en} with limited access to e-mail."),
    ("sv", "Detta är ett automatiskt svar. Jag är tjänstledig till och med {day} {month}."),
)


def _render_auto_reply(person: _Person, sent_at: datetime, digest: bytes, rng: random.Random) -> bytes:
    """An absence notice answering the contact centre: Auto-Submitted, X-Autoreply, or only its subject says so."""
    profile = _profile(person.address.rsplit("@", 1)[1], rng)
    lang, template = rng.choice(_AUTO_BODIES)
    back = sent_at + timedelta(days=rng.randint(3, 30))
    text = template.format(day=back.day, month=_SV_MONTHS[back.month - 1], month_en=_EN_MONTHS[back.month - 1])
    original = rng.choice(("SV: Ditt ärende hos Solviks kommun", f"Ärende KC-{int.from_bytes(digest[:3], 'big')}",
                           "Svar från kontaktcenter"))
    variant = rng.randrange(4)
    extra: list[tuple[str, str]] = []
    if variant == 0:
        subject = ("Automatiskt svar: " if lang == "sv" else "Automatic reply: ") + original
        extra = [("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")]
    elif variant == 1:
        subject = "SV: " + original
        extra = [("X-Autoreply", "yes")]
    elif variant == 2:
        subject = ("Frånvaromeddelande: " if lang == "sv" else rng.choice(("Out of office: ", "Automatic reply: "))) + original
    else:
        subject = "Re: " + original
        extra = [("Auto-Submitted", "auto-replied")]
    charset = _charset_for(text, rng)
    base64_words = rng.random() < 0.5
    headers = [
        ("From", _mailbox(person, charset, base64_words, "From")),
        ("To", f"Kontaktcenter <{MAILBOX}>"),
        ("Subject", _unstructured(subject, charset, base64_words, "Subject")),
        ("Date", _date_header(sent_at, rng)),
        ("Message-ID", _message_id(profile, digest, person.address.rsplit("@", 1)[1])),
        ("In-Reply-To", f"<kc-{digest[6:14].hex()}@solvik.se>"),
        *extra,
    ]
    return _assemble(headers, _text_part(text, "plain", charset, _cte(rng), profile))


def _render_bounce(recipient: str, sent_at: datetime, digest: bytes, rng: random.Random) -> bytes:
    """A delivery failure of a contact-centre answer: multipart/report with message/delivery-status (RFC 3464)."""
    mta = rng.choice(("postfix", "exchange", "gmail"))
    original_id = f"<kc-{digest[6:14].hex()}@solvik.se>"
    original_subject = rng.choice(("SV: Ditt ärende hos Solviks kommun", "Svar från kontaktcenter", "Angående din fråga"))
    arrival = format_datetime(sent_at.replace(tzinfo=STOCKHOLM))
    status, diagnostic = rng.choice((
        ("5.1.1", f"smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown"),
        ("5.2.2", f"smtp; 552 5.2.2 <{recipient}>: Mailbox full"),
        ("5.4.1", "smtp; 550 5.4.1 Recipient address rejected: Access denied"),
    ))
    if mta == "postfix":
        sender, subject = "MAILER-DAEMON@mx1.solvik.se (Mail Delivery System)", "Undelivered Mail Returned to Sender"
        human = ("This is the mail system at host mx1.solvik.se.\n\nI'm sorry to have to inform you that your message could not\n"
                 "be delivered to one or more recipients. It's attached below.\n\nFor further assistance, please send mail "
                 f"to postmaster.\n\n                   The mail system\n\n<{recipient}>: {diagnostic[6:]}\n")
    elif mta == "exchange":
        sender = "Microsoft Outlook <MAILER-DAEMON@solvik.mail.protection.outlook.com>"
        subject = "Olevererbart: " + original_subject
        human = (f"Det gick inte att leverera meddelandet till följande mottagare:\n\n{recipient}\n\n"
                 f"Mottagarens e-postsystem svarade: {diagnostic[6:]}\n")
    else:
        sender, subject = "Mail Delivery Subsystem <mailer-daemon@googlemail.com>", "Delivery Status Notification (Failure)"
        human = (f"** Address not found **\n\nYour message wasn't delivered to {recipient} because the address couldn't be "
                 f"found, or is unable to receive mail.\n\nThe response from the remote server was:\n{diagnostic[6:]}\n")
    status_block = (f"Reporting-MTA: dns; mx1.solvik.se\nArrival-Date: {arrival}\n\nFinal-Recipient: rfc822; {recipient}\n"
                    f"Original-Recipient: rfc822;{recipient}\nAction: failed\nStatus: {status}\nDiagnostic-Code: {diagnostic}\n")
    original_headers = (f"From: Solviks kommun <{MAILBOX}>\nTo: {recipient}\n"
                        f"Subject: {_encoded_words(original_subject, 'utf-8', True, 'Subject')}\nDate: {arrival}\n"
                        f"Message-ID: {original_id}\nMIME-Version: 1.0\n")
    human_part = _text_part(human, "plain", "utf-8", "quoted-printable" if not human.isascii() else "8bit", "webmail")
    parts = [
        human_part,
        _Part(("Content-Type: message/delivery-status", "Content-Description: Delivery report"), status_block.encode()),
    ]
    if rng.random() < 0.5:
        parts.append(_Part(("Content-Type: text/rfc822-headers", "Content-Description: Undelivered Message Headers"),
                           original_headers.encode()))
    else:
        original_body = "Hej!\n\nTack för ditt meddelande. Vi har tagit emot ditt ärende och återkommer.\n"
        parts.append(_Part(("Content-Type: message/rfc822", "Content-Description: Undelivered Message"),
                           original_headers.encode() + b"Content-Type: text/plain; charset=utf-8\n"
                           b"Content-Transfer-Encoding: 8bit\n\n" + original_body.encode()))
    report = _multipart("report", parts, f"{digest[:8].hex()}.{int.from_bytes(digest[8:12], 'big')}/mx1.solvik.se",
                        " report-type=delivery-status;")
    headers = [
        ("From", sender),
        ("To", MAILBOX),
        ("Subject", _unstructured(subject, "utf-8", False, "Subject")),
        ("Date", _date_header(sent_at, rng)),
        ("Message-ID", f"<{digest[:10].hex()}.bounce@mx1.solvik.se>"),
    ]
    if mta != "postfix":
        # Gmail and Exchange mark their reports as automatic; Postfix does not, so some bounces look like mail.
        headers.append(("Auto-Submitted", "auto-replied"))
    return _assemble(headers, report)


# --- calls -----------------------------------------------------------------------------------------------------


def _phone(rng: random.Random, international: bool) -> str:
    mobile = rng.choice(("70", "72", "73", "76", "79"))
    digits = f"{rng.randint(0, 9_999_999):07d}"
    if international:
        return rng.choice((f"+46{mobile}{digits}", f"+46 {mobile} {digits[:3]} {digits[3:5]} {digits[5:]}"))
    return rng.choice((f"0{mobile}-{digits[:3]} {digits[3:5]} {digits[5:]}", f"0{mobile}{digits}",
                       f"08-{digits[:3]} {digits[3:5]} {digits[5:]}"))


def _transcript(item: CorpusItem, agent: str, rng: random.Random) -> str:
    first = agent.split()[0]
    said = _first_sentence(item.body)
    if item.lang == "en":
        return (f"Agent: Solvik municipality, this is {first}, how can I help?\nCaller: Hi, yes, it's about this. {said}\n"
                "Agent: I see. I'll make a note of it and pass it on.")
    closing = rng.choice(("Jag noterar det och skickar det vidare.", "Då skriver jag in det, någon återkommer till dig."))
    return (f"Handläggare: Solviks kommun, {first} här, vad kan jag hjälpa till med?\n"
            f"Invånare: Hej, jo, det gäller det här. {said}\nHandläggare: Jag förstår. {closing}")


def _call_record(item: CorpusItem, started: datetime, digest: bytes, layout: CallLayout, rng: random.Random) -> CallRecord:
    notes = item.body.replace("\r\n", "\n").strip()
    seconds = int(45 + len(notes) * rng.uniform(0.5, 1.6) + rng.expovariate(1 / 90))
    draw = rng.random()
    reason = "" if draw < 0.4 else "Övrigt" if draw < 0.5 else _REASONS.get(item.topic, "Övrigt")
    hidden = rng.random() < 0.04
    if layout == "a":
        return CallRecord("a", item_id=item.id, fields={
            "call_id": f"CALL-{digest[:8].hex().upper()}",
            "started_at": started.isoformat(timespec="seconds"),  # local Stockholm time without offset
            "caller_number": "" if hidden else _phone(rng, international=rng.random() < 0.2),
            "agent": rng.choice(_AGENT_IDS),
            "reason": reason,
            "notes": notes,
            "duration_min": f"{seconds / 60:.1f}".replace(".", ","),  # Swedish decimal comma, as the export writes it
        })
    agent = rng.choice(_AGENT_NAMES)
    return CallRecord("b", item_id=item.id, fields={
        "samtalsId": str(uuid.UUID(bytes=digest[:16], version=4)),
        "startTid": f"{started:%Y-%m-%d %H:%M}",
        "anropare": None if hidden else _phone(rng, international=rng.random() < 0.7),
        "handlaggare": agent,
        "kategori": reason,
        "anteckning": notes,
        "transkribering": _transcript(item, agent, rng) if rng.random() < 0.3 else None,
        "samtalslangd_sek": seconds,
    })


# --- generation ------------------------------------------------------------------------------------------------


def _advance(clock: datetime, rng: random.Random) -> datetime:
    """Next arrival: a few minutes on, within weekday office hours (calls only come in then; mail mostly too)."""
    clock += timedelta(seconds=rng.randint(20, 240))
    if clock.hour >= 17:
        clock = (clock + timedelta(days=1)).replace(hour=7, minute=30, second=0) + timedelta(seconds=rng.randint(0, 900))
    while clock.weekday() >= 5:
        clock += timedelta(days=1)
    return clock


def _pick_parent(recent: Sequence[_Sent], item: CorpusItem, rng: random.Random) -> _Sent:
    """An earlier message to answer: one on the same topic where there is one, so the thread reads as one matter."""
    for same in (lambda s: s.topic == item.topic, lambda s: s.lang == item.lang):
        candidates = [sent for sent in recent if same(sent)]
        if candidates:
            return rng.choice(candidates)
    return rng.choice(recent)


def generate_inbox(
    items: Sequence[CorpusItem], *, seed: int = 7, count: int | None = None, options: InboxOptions | None = None
) -> Iterator[MailFile | CallRecord]:
    """The inbox as a stream: each inquiry's .eml file or call record, followed by any auto-reply or bounce.

    `count` inquiries (default len(items)) are made by cycling through items; only a few earlier messages are kept
    for threads, so memory does not grow with count."""
    options = options or InboxOptions()
    total = len(items) if count is None else count
    if total < 0:
        raise ValueError(f"count must not be negative, not {total}")
    if total and not items:
        raise ValueError("no items to generate an inbox from")
    layouts = tuple(dict.fromkeys(options.call_layouts))
    rng = random.Random(seed)
    clock = _START
    recent: deque[_Sent] = deque(maxlen=64)
    for index in range(total):
        item = items[index % len(items)]
        clock = _advance(clock, rng)
        if item.channel == "call":
            layout = layouts[0] if len(layouts) == 1 else rng.choice(layouts)
            yield _call_record(item, clock, _digest(seed, index, item.id, "call"), layout, rng)
            continue
        parent = _pick_parent(recent, item, rng) if recent and rng.random() < options.thread_share else None
        # A reply comes from whoever wrote the message it answers.
        person = parent.person if parent is not None else _person(rng)
        attachment = None
        if rng.random() < options.large_attachment_share:
            attachment = _attachment(rng, large=True)
        elif rng.random() < options.attachment_share:
            attachment = _attachment(rng, large=False)
        data, sent = _render_inquiry(item, person, clock, _digest(seed, index, item.id, "mail"), parent, attachment, rng)
        recent.append(sent)
        yield MailFile("reply" if parent else "inquiry", data, sent.message_id, 1 if attachment else 0, item.id)
        if rng.random() < options.auto_reply_share:
            later = clock + timedelta(minutes=rng.randint(30, 600))
            digest = _digest(seed, index, item.id, "auto")
            yield MailFile("auto_reply", _render_auto_reply(_person(rng), later, digest, rng), "")
        if rng.random() < options.bounce_share:
            later = clock + timedelta(minutes=rng.randint(20, 400))
            digest = _digest(seed, index, item.id, "bounce")
            yield MailFile("bounce", _render_bounce(_person(rng).address, later, digest, rng), "")


def write_inbox(
    items: Sequence[CorpusItem],
    target: Path,
    *,
    seed: int = 7,
    count: int | None = None,
    auto_reply_share: float = 0.03,
    bounce_share: float = 0.01,
    thread_share: float = 0.1,
    attachment_share: float = 0.08,
    large_attachment_share: float = 0.0,
    call_layouts: Sequence[CallLayout] = ("a", "b"),
    call_encoding: str = "utf-8",
) -> InboxSummary:
    """Write the inbox under target: mail/NNNNNN.eml, calls.csv (vendor A) and calls_vendor_b.json (vendor B).

    Deterministic: the same items, seed and options give byte-identical files. Earlier generated .eml files in
    target/mail are removed first. Vendor A is written in call_encoding (characters it lacks become '?')."""
    options = InboxOptions(auto_reply_share=auto_reply_share, bounce_share=bounce_share, thread_share=thread_share,
                           attachment_share=attachment_share, large_attachment_share=large_attachment_share,
                           call_layouts=tuple(call_layouts))
    codecs.lookup(call_encoding)  # an unknown encoding fails before anything is written
    total = len(items) if count is None else count
    if total < 0 or (total and not items):
        raise ValueError(f"cannot generate {total} inquiries from {len(items)} items")
    mail_dir = target / MAIL_DIR_NAME
    mail_dir.mkdir(parents=True, exist_ok=True)
    for stale in mail_dir.iterdir():
        if _GENERATED_NAME.match(stale.name) and stale.is_file():
            stale.unlink()
    width = max(6, len(str(3 * max(total, 1))))  # an inquiry can bring an auto-reply and a bounce
    call_log = target / VENDOR_A_FILE if "a" in options.call_layouts else None
    call_log_b = target / VENDOR_B_FILE if "b" in options.call_layouts else None
    counts = dict.fromkeys(("inquiry", "reply", "auto_reply", "bounce", "attachments", "a", "b"), 0)
    with ExitStack() as stack:
        writer = None
        if call_log is not None:
            handle = stack.enter_context(call_log.open("w", encoding=call_encoding, errors="replace", newline=""))
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(VENDOR_A_COLUMNS)
        json_handle = None
        if call_log_b is not None:
            json_handle = stack.enter_context(call_log_b.open("w", encoding="utf-8", newline="\n"))
            json_handle.write("[")
        sequence = 0
        for record in generate_inbox(items, seed=seed, count=total, options=options):
            if isinstance(record, MailFile):
                (mail_dir / f"{sequence:0{width}d}.eml").write_bytes(record.data)
                sequence += 1
                counts[record.kind] += 1
                counts["attachments"] += record.attachments
            elif record.layout == "a":
                assert writer is not None
                writer.writerow([record.fields[column] for column in VENDOR_A_COLUMNS])
                counts["a"] += 1
            else:
                assert json_handle is not None
                # Streamed one object at a time, so the array never has to be held in memory.
                json_handle.write(("\n  " if counts["b"] == 0 else ",\n  ") + json.dumps(record.fields, ensure_ascii=False))
                counts["b"] += 1
        if json_handle is not None:
            json_handle.write("\n]\n")
    return InboxSummary(
        emails=counts["inquiry"] + counts["reply"], auto_replies=counts["auto_reply"], calls=counts["a"] + counts["b"],
        mail_dir=mail_dir, call_log=call_log, call_log_b=call_log_b, replies=counts["reply"], bounces=counts["bounce"],
        attachments=counts["attachments"], calls_b=counts["b"],
    )
