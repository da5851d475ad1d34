import pytest

from pipeline.language import detect_language, dominant_script, language_name


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Hej, jag undrar när soporna hämtas på vår gata?", "sv"),
        ("hej jag undrar nar soporna hamtas pa var gata", "sv"),
        ("vilka dagar ar anhorigcafet pa biblioteket", "sv"),
        ("Hello, I would like to know when my child can start at the preschool.", "en"),
        ("Dzień dobry, chciałbym zapytać o odbiór śmieci w przyszłym tygodniu proszę", "pl"),
        ("Hei, äitini ei ole saanut kotipalvelua tänään eikä hänellä ole lääkkeitä.", "fi"),
        ("زوجي يضربني وأنا خائفة على أطفالي الليلة، أرجو المساعدة", "ar"),
        ("سلام، پسرم امروز به مدرسه نرفت و من نمی‌دانم کجاست", "fa"),
        ("Haye, hooyaday waxay u baahan tahay caawimaad maanta, qof uma iman guriga.", "so"),
        ("ሰላም፡ ኣደይ ሎሚ ሓገዝ ኣይረኸበትን", "ti"),
        ("Dobar dan, moja majka nije dobila lijekove danas i niko nije došao.", "hbs"),
        ("Добрий день, моя мама сьогодні не отримала ліки, ніхто не прийшов.", "uk"),
        ("Здравствуйте, моя мама сегодня не получила лекарства, никто не пришёл.", "ru"),
    ],
)
def test_names_the_language(text, code):
    assert detect_language(text) == code


def test_a_swedish_signature_does_not_outvote_the_letter():
    text = ("زوجي يضربني كل ليلة وأنا خائفة على أطفالي، لا أعرف ماذا أفعل\n\n"
            "Med vänliga hälsningar\nSamira, Storgatan 5, Växjö kommun")
    assert detect_language(text) == "ar"


@pytest.mark.parametrize("text", ["Soptunnan", "Parkering Storgatan", "Tack för hjälpen!", "Faktura 2024"])
def test_short_latin_text_is_taken_as_swedish(text):
    assert detect_language(text) == "sv"


def test_text_without_letters_is_undetermined():
    assert detect_language("070-000 00 00 :-)") == "und"
    assert dominant_script("12345") is None


def test_swedish_names_for_people():
    assert language_name("ar") == "arabiska"
    assert language_name("hbs") == "bosniska/kroatiska/serbiska"
    assert language_name(None) == "okänt språk"
    assert language_name("xx") == "xx"
