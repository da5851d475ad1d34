"""Case numbers: how a case is referred to in the subject of our answers, and found again in the citizen's reply.

A case number is `KC-` and the first ten hex digits of the case id, upper case (e.g. `KC-3F9A0C12BE`). A reply
that quotes it in its subject ("SV: Ditt ärende KC-3F9A0C12BE") joins that case even when the mail client dropped
In-Reply-To and References.
"""

from __future__ import annotations

import re

CASE_NUMBER_DIGITS = 10
_CASE_NUMBER = re.compile(rf"\bKC-([0-9A-F]{{{CASE_NUMBER_DIGITS}}})\b", re.IGNORECASE)


def case_number(case_id: str) -> str:
    return f"KC-{case_id[:CASE_NUMBER_DIGITS].upper()}"


def case_id_prefixes(subject: str) -> list[str]:
    """The case-id prefixes of every case number in a subject, in order."""
    return [match.lower() for match in _CASE_NUMBER.findall(subject)]
