"""Property-based fuzzing of the e-mail parser: whatever bytes come in, it returns a message, None (auto-reply) or
raises IngestError (the quarantine path), and nothing else. Examples are bounded and derandomised, so CI is stable."""

from email.message import EmailMessage

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.corpus import load_split
from pipeline.inbox import InboxOptions, MailFile, generate_inbox
from pipeline.ingest import IngestError, parse_eml
from pipeline.store import StoredMessage
from tests.conftest import CORPUS_DIR

ITEMS = [item for item in load_split(CORPUS_DIR, "dev") if item.channel == "email"][:40]
# Real envelopes: every MIME structure, charset, transfer encoding, thread, attachment, auto-reply and bounce.
SEEDS = [record.data for record in generate_inbox(
    ITEMS, seed=3, options=InboxOptions(auto_reply_share=0.2, bounce_share=0.1, thread_share=0.3, attachment_share=0.3)
) if isinstance(record, MailFile)]
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def check(data: bytes) -> None:
    try:
        result = parse_eml(data, source="fuzz", raw_ref="fuzz")
    except IngestError:
        return
    assert result is None or (isinstance(result, StoredMessage) and result.inquiry.body.strip())


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes(data):
    check(data)


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "duplicate", "swap-crlf"]))
        if kind == "truncate":
            data = data[:at]
        elif kind == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([b"\n", b"\r\n\r\n", b"--", b"=?utf-8?b?", b"?=", b'"', b";", b"\x00",
                                                b"\xff\xfe", b"Content-Type: multipart/mixed; boundary=", b"charset=",
                                                b"Content-Transfer-Encoding: base64\n", b"=\n", b"=C3", b"<", b">"]))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 200))]
        elif kind == "duplicate":
            end = min(len(data), at + draw(st.integers(1, 300)))
            data[end:end] = data[at:end]
        else:
            data = bytearray(bytes(data).replace(b"\n", b"\r\n") if draw(st.booleans()) else bytes(data).replace(b"\n", b"\r"))
        if not data:
            break
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutated_real_mail(data):
    check(data)


HEADER_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60) | st.sampled_from([
    "=?utf-8?b?w6Vsw6Q=?=", "=?iso-8859-1?q?=E5=E4=F6?=", "=?bogus?x?abc?=", "=?utf-8?q?", "<>", "<<a@b>>", "\"\" <@>",
    "a@", "undisclosed-recipients:;", "Mon, 32 Foo 2026 25:61:00 +9999", "text/plain; charset=\"", "multipart/mixed",
    "multipart/alternative; boundary=", "text/html; charset=x-unknown", "base64", "quoted-printable",
])


@FUZZ
@given(st.dictionaries(st.sampled_from(["From", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
                                        "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted", "To"]),
                       HEADER_TEXT, max_size=8),
       st.binary(max_size=500) | st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_arbitrary_header_values_and_bodies(headers, body):
    lines = [f"{name}: {value}".replace("\r", " ").replace("\n", " ") for name, value in headers.items()]
    check("\n".join(lines).encode("utf-8", "surrogatepass") + b"\n\n" + body)


def test_a_sound_mail_still_parses():
    message = EmailMessage()
    message["From"], message["Subject"], message["Message-ID"] = "a@exempel.se", "Bygglov", "<sound@exempel.se>"
    message.set_content("Behöver jag bygglov för ett plank?")
    assert parse_eml(bytes(message), source="fuzz", raw_ref="x").inquiry.body == "Behöver jag bygglov för ett plank?"
