"""Redaction of personal data into typed placeholders, so models, logs and MLflow never see it."""

from __future__ import annotations

import re

PLACEHOLDERS = ("[PERSONNUMMER]", "[TELEFON]", "[EPOST]", "[ADRESS]", "[POSTNUMMER]")

# 10 or 12 digits, optional century, optional '-' or '+' before the last four.
_PERSONNUMMER = re.compile(r"(?<![\d-])(?:19|20)?(\d{2})(\d{2})(\d{2})\s?([-+]?)\s?(\d{4})(?![\d-])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Swedish numbers: 070-123 45 67, 08-123 456 78, 0046/+46 forms, 031123456. At least 8 digits in all.
_PHONE = re.compile(r"(?<![\w+])(?:\+46|0046|0)[\s-]?\(?0?\)?\d{1,3}(?:[\s-]?\d){5,9}(?!\d)")
_STREET = re.compile(
    r"\b[A-ZÅÄÖ][a-zåäöéü]+(?:[a-zåäö]*)(?:gatan|vägen|gränd|gränden|stigen|allén|backen|torget|plan|leden|"
    r"vagen|slingan|liden|höjden|kroken|svängen|väg|gata)\s+\d+(?:\s?[A-Za-z]\b)?"
)
_POSTCODE = re.compile(r"\b\d{3}\s?\d{2}(?=\s+[A-ZÅÄÖ][a-zåäö]+)")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, char in enumerate(digits):
        value = int(char) * (2 - i % 2)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _is_personnummer(match: re.Match[str]) -> bool:
    year, month, day, separator, last4 = match.groups()
    day_int = int(day)
    # Samordningsnummer add 60 to the day.
    if day_int > 60:
        day_int -= 60
    if not (1 <= int(month) <= 12 and 1 <= day_int <= 31):
        return False
    # A bare run of digits must pass the checksum; written with its separator, a mistyped check digit is still
    # somebody's personnummer, so it is redacted too.
    return bool(separator) or luhn_valid(year + month + day + last4)


def redact(text: str) -> str:
    """Replace personnummer/samordningsnummer, e-mail addresses, phone numbers, street addresses and postcodes
    with placeholders. A bare 10/12-digit number counts as a personnummer only with a valid date and checksum."""
    text = _EMAIL.sub("[EPOST]", text)
    text = _PERSONNUMMER.sub(lambda m: "[PERSONNUMMER]" if _is_personnummer(m) else m.group(0), text)
    text = _PHONE.sub("[TELEFON]", text)
    text = _STREET.sub("[ADRESS]", text)
    return _POSTCODE.sub("[POSTNUMMER]", text)
