"""Personal data becomes typed placeholders; ordinary numbers stay."""

import pytest

from pipeline.redact import luhn_valid, redact


@pytest.mark.parametrize("number", ["19850312-1231", "850312-1231", "8503121231", "198503121231", "850312+1231"])
def test_personnummer_forms_are_redacted(number):
    assert redact(f"mitt pnr är {number} tack") == "mitt pnr är [PERSONNUMMER] tack"


def test_samordningsnummer_is_redacted():
    # Day 72 = 12 + 60.
    digits = next(f"850372{n:04d}" for n in range(10000) if luhn_valid(f"850372{n:04d}"))
    assert "[PERSONNUMMER]" in redact(f"samordningsnummer {digits}")


def test_bare_digits_that_fail_the_checksum_are_kept():
    assert redact("ordernummer 8503121234") == "ordernummer 8503121234"


@pytest.mark.parametrize("phone", ["070-123 45 67", "08-123 456 78", "+46 70 123 45 67", "0701234567"])
def test_phone_numbers_are_redacted(phone):
    assert redact(f"ring mig på {phone}") == "ring mig på [TELEFON]"


def test_email_street_and_postcode_are_redacted():
    out = redact("Skriv till anna.berg@exempel.se, jag bor på Storgatan 12B, 123 45 Solvik")
    assert out == "Skriv till [EPOST], jag bor på [ADRESS], [POSTNUMMER] Solvik"


def test_case_numbers_and_dates_are_kept():
    text = "Ärende 2024-1183 från 2024-09-03, kl 14:30"
    assert redact(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("Gropen vid Ängsvägen 4 sedan i går.", "Gropen vid [ADRESS] sedan i går."),
    ("Jag bor på Björkvägen 7B i Solvik.", "Jag bor på [ADRESS] i Solvik."),
    ("Storgatan 12 a, uppgång två.", "[ADRESS], uppgång två."),
])
def test_street_placeholder_keeps_the_words_around_it(text, expected):
    assert redact(text) == expected
