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


def test_disclaimers_and_privacy_footers_are_cut():
    cases = [
        "Detta e-postmeddelande kan innehålla konfidentiell information och är endast avsett för mottagaren.",
        "Detta e-postmeddelande och eventuella bilagor är endast avsett för adressaten.",
        "När du skickar e-post till Solviks kommun behandlar vi dina personuppgifter enligt GDPR.",
        "KONFIDENTIALITET: Innehållet är endast avsett för adressaten.",
        "This email and any attachments are confidential and intended solely for the addressee.",
        "This message may contain privileged information.",
    ]
    for footer in cases:
        assert clean_body(f"Soptunnan vid Ekvägen är trasig.\n\n{footer}\nMer juridisk text.") == (
            "Soptunnan vid Ekvägen är trasig."), footer


def test_a_citizen_writing_about_confidentiality_is_not_cut():
    for text in ("Hej!\nDetta meddelande gäller min ansökan om bygglov, den är inte konfidentiell.\nNär kommer beslutet?",
                 "Hi!\nThis message is about my confidential case with social services.",
                 "Jag undrar när du skickar beslutet om mina personuppgifter."):
        assert clean_body(text) == text
