"""Cleaning keeps what the sender wrote now and drops quoted history and signatures (Swedish examples)."""

from pipeline.cleaning import clean_body


def test_swedish_quoted_reply_is_cut():
    text = ("Hej igen, soporna är fortfarande inte hämtade.\n\n"
            "Den tis 3 sep. 2024 kl. 14:02 skrev Kontaktcenter <kc@solvik.se>:\n> Tack, vi återkommer.")
    assert clean_body(text) == "Hej igen, soporna är fortfarande inte hämtade."


def test_apple_mail_quote_header_without_den_is_cut():
    text = "Vi har fortfarande inget vatten.\n\n3 sep. 2024 kl. 14:02 skrev VA-kundtjänst <va@solvik.se>:\n\nHej!"
    assert clean_body(text) == "Vi har fortfarande inget vatten."


def test_outlook_header_block_is_cut():
    text = ("Tack för svaret, men vi har fortfarande ingen plats.\n\nFrån: Förskolan <fk@solvik.se>\n"
            "Skickat: den 2 september 2024 10:11\nTill: Anna Berg\nÄmne: Placering\n\nHej Anna ...")
    assert clean_body(text) == "Tack för svaret, men vi har fortfarande ingen plats."


def test_signature_and_device_footer_are_cut():
    text = "Gatlampan vid Ekvägen 4 är trasig.\n\nMed vänliga hälsningar\nPer Nilsson\n070-123 45 67"
    assert clean_body(text) == "Gatlampan vid Ekvägen 4 är trasig."
    assert clean_body("vattnet är brunt\n\nSkickat från min iPhone") == "vattnet är brunt"
    assert clean_body("hej undrar om bygglov\nmvh Ali") == "hej undrar om bygglov"


def test_a_message_that_is_only_a_greeting_is_not_emptied():
    assert clean_body("Med vänliga hälsningar") == "Med vänliga hälsningar"


def test_quote_markers_inside_the_message_do_not_cut_it():
    text = "Jag skrev till er i mars.\nDen 3 mars skickade jag blanketten men fick inget svar."
    assert clean_body(text) == text
