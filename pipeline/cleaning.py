"""Cleaning of message text: quoted earlier replies and signatures are cut, whitespace is normalised."""

from __future__ import annotations

import re

# A line that starts the quoted history of a reply; everything from it on is earlier correspondence.
_QUOTE_HEADER = re.compile(
    r"""^\s*(?:
        (?:Den\s+)?[^\n]{0,40}\d[^\n]{0,80}\sskrev\s[^\n]{0,200}:\s*$   # (Den) tis 3 sep. 2024 kl. 14:02 skrev X <x@y>:
      | On\s.{3,120}\swrote:\s*$                           # On Tue, 3 Sep 2024, X wrote:
      | -{2,}\s*(?:Original\s+Message|Ursprungligt\s+meddelande|Vidarebefordrat\s+meddelande|Forwarded\s+message)\s*-{2,}
      | _{20,}\s*$                                         # Outlook's separator line
      | (?:Från|From):\s.+\n(?:(?:Skickat|Sent|Datum|Date):\s.+\n)?(?:(?:Till|To):\s.+)  # Outlook header block
    )""",
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)
# A line that starts a signature or device footer; it and everything after it are dropped.
_SIGNATURE = re.compile(
    r"""^\s*(?:
        (?:med\s+)?(?:vänlig|vänliga|vanlig|vanliga|bästa)\s+häls\w*[,.!]?\s*$
      | (?:med\s+)?(?:vänlig|vänliga|vanlig|vanliga)\s+halsning\w*[,.!]?\s*$
      | (?:mvh|m\.v\.h\.|hälsningar|halsningar|ha\s+det\s+bra)[,.!]?(?:\s+\S+){0,3}\s*$
      | (?:kind|best|warm)\s+regards[,.!]?\s*$
      | (?:regards|cheers|thanks|thank\s+you)[,.!]?\s*$
      | (?:skickat|sent)\s+från\s+min\s.+$
      | sent\s+from\s+my\s.+$
      | hämta\s+outlook\s+för\s.+$
      | get\s+outlook\s+for\s.+$
      | --\s*$
      # Disclaimers and privacy footers that employers' and organisations' mail servers append.
      | (?:detta|det\s+här)\s+(?:e-?post\w*|mejl|meddelande)\s+(?:\(?och\s+(?:eventuella\s+)?bilagor\)?\s+)?
        (?:kan\s+innehålla|är\s+(?:endast\s+)?avsett|är\s+konfidentiell|omfattas\s+av\s+sekretess).*$
      | this\s+(?:e-?mail|message)\s+(?:\(?and\s+any\s+attachments\)?\s+)?
        (?:(?:is|are)\s+(?:strictly\s+)?(?:confidential|privileged|intended\s+(?:solely\s+|only\s+)?for)
          |(?:may\s+contain|contains)\s+(?:\w+\s+){0,2}?(?:confidential|privileged)).*$
      | när\s+du\s+(?:skickar|mejlar|kontaktar)\b.{0,80}\bbehandla\w*\b.{0,40}\bpersonuppgifter.*$
      | (?:konfidentialitet\w*|ansvarsfriskrivning|sekretessmeddelande|confidentiality\s+notice|disclaimer)\s*:.*$
    )""",
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)
_QUOTED_LINE = re.compile(r"^\s*>.*$\n?", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t\u00a0]+")


def strip_quoted_reply(text: str) -> str:
    """Drop the quoted history of a reply: everything from its header line, and any '>' lines."""
    match = _QUOTE_HEADER.search(text)
    if match and text[: match.start()].strip():
        text = text[: match.start()]
    return _QUOTED_LINE.sub("", text)


def strip_signature(text: str) -> str:
    """Cut at the first signature marker that has message text above it."""
    for match in _SIGNATURE.finditer(text):
        if text[: match.start()].strip():
            return text[: match.start()]
    return text


def normalise_whitespace(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def clean_body(text: str) -> str:
    """The part of a message its sender wrote now: no quoted history, no signature, tidy whitespace."""
    text = normalise_whitespace(text)
    cleaned = normalise_whitespace(strip_signature(strip_quoted_reply(text)))
    # Never clean a message down to nothing: a body that is only a quote is still better than empty.
    return cleaned or text
