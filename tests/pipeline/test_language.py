from pipeline.language import detect_language


def test_swedish_english_and_other():
    assert detect_language("Hej, jag undrar när soporna hämtas på vår gata?") == "sv"
    assert detect_language("hej jag undrar nar soporna hamtas pa var gata") == "sv"
    assert detect_language("Hello, I would like to know when my child can start at the preschool.") == "en"
    assert detect_language("Dzień dobry, chciałbym zapytać o odbiór śmieci w przyszłym tygodniu proszę") == "other"
