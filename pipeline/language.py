"""Offline language identification: which language an inquiry is written in, by ISO code and Swedish name.

The code serves two ends: the routing policy (text in a language the model was not trained on is never
auto-routed and never lands below `hog`), and the case handler, who books an interpreter from the name on the
case page. Script decides first (Ge'ez is Tigrinya, which no detector here knows; Arabic script is Arabic or
Persian; Cyrillic is Ukrainian, Russian, Serbian...); within a script, lingua's n-gram models (shipped inside
the wheel, nothing downloaded) choose. Bosnian, Croatian and Serbian are one code, `hbs`: a detector cannot
tell them apart in a short mail, and one interpreter serves all three. Swedish is the expected language: a very
short Latin-script text is Swedish, and a foreign verdict on Latin text is checked against Swedish and English
with fuller models. Against that, Arabic typed in Latin letters is known by its digits, and a long text with
hardly any Swedish or English little words is not taken for either.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from itertools import islice

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

SWEDISH = "sv"
UNDETERMINED = "und"

# Swedish names, for the case page and the queue lists; a code missing here is shown as the code itself.
LANGUAGE_NAMES = {
    "sv": "svenska", "en": "engelska", "fi": "finska", "ar": "arabiska", "fa": "persiska/dari", "so": "somaliska",
    "ti": "tigrinja", "pl": "polska", "hbs": "bosniska/kroatiska/serbiska", "uk": "ukrainska", "ru": "ryska",
    "de": "tyska", "fr": "franska", "es": "spanska", "it": "italienska", "pt": "portugisiska", "nl": "nederländska",
    "da": "danska", "nb": "norska", "nn": "norska", "tr": "turkiska", "et": "estniska", "lt": "litauiska",
    "lv": "lettiska", "sq": "albanska", "ro": "rumänska", "hu": "ungerska", "cs": "tjeckiska", "sk": "slovakiska",
    "sl": "slovenska", "bg": "bulgariska", "mk": "makedonska", "ur": "urdu", "und": "okänt språk",
}

# Candidates per script. Latin holds the languages people in Sweden write in most, not all 75 of lingua's: every
# extra candidate is one more way to mistake a terse Swedish mail for something else.
_LATIN = (
    Language.SWEDISH, Language.ENGLISH, Language.FINNISH, Language.SOMALI, Language.POLISH, Language.BOSNIAN,
    Language.CROATIAN, Language.SERBIAN, Language.GERMAN, Language.FRENCH, Language.SPANISH, Language.ITALIAN,
    Language.PORTUGUESE, Language.DUTCH, Language.DANISH, Language.BOKMAL, Language.NYNORSK, Language.TURKISH,
    Language.ESTONIAN, Language.LITHUANIAN, Language.LATVIAN, Language.ALBANIAN, Language.ROMANIAN,
    Language.HUNGARIAN, Language.CZECH, Language.SLOVAK, Language.SLOVENE,
)
_ARABIC_SCRIPT = (Language.ARABIC, Language.PERSIAN, Language.URDU)
_CYRILLIC = (Language.UKRAINIAN, Language.RUSSIAN, Language.SERBIAN, Language.BULGARIAN, Language.MACEDONIAN)
_HBS = {"bs", "hr", "sr"}

# Scripts by code-point block; a letter outside these counts as Latin only if it is a Latin letter.
_SCRIPT_RANGES = {
    "arabic": ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)),
    "ethiopic": ((0x1200, 0x139F), (0x2D80, 0x2DDF), (0xAB00, 0xAB2F)),
    "cyrillic": ((0x0400, 0x052F),),
}
# Fewer Latin words than this say too little to name a language; the inquiry is taken to be Swedish.
_MIN_WORDS = 4
_MAX_WORDS = 40
# Swedish typed without å, ä and ö reads like Norwegian or Danish: against those, Swedish wins when lingua gives it
# at least this share of the winner's confidence.
_SWEDISH_LOOKALIKES = frozenset({Language.BOKMAL, Language.NYNORSK, Language.DANISH})
_SWEDISH_MARGIN = 0.2
# Common words that are Swedish and neither Norwegian nor Danish, and the other way round; typed without å, ä, ö too.
_SWEDISH_ONLY = frozenset(
    [
        "och", "inte", "jag", "är", "ar", "att", "hur", "vad", "vilka", "vilken", "vilket", "när", "nar", "varför",
        "varfor", "också", "ocksa", "någon", "nagon", "något", "nagot", "mycket", "kommunen", "hej", "tack", "undrar",
        "skulle", "kunna", "finns", "fick", "blev", "hade", "sina", "mitt"
    ]
)
_NORDIC_ONLY = frozenset(
    [
        "og", "ikke", "jeg", "hva", "hvad", "hvordan", "hvorfor", "hvilke", "hvilken", "hvor", "noen", "nogen", "noe",
        "noget", "meget", "mye"
    ]
)
_WORD = re.compile(r"[^\W\d_]+")
# The commonest little words of Swedish (also typed without å, ä, ö) and English. Every written text of 15 words
# or more in the corpus has at least 5.9 % of them; below 5 % a long text is taken to be neither language.
_FUNCTION_WORDS = frozenset(
    [
        "och", "att", "det", "som", "en", "är", "ar", "på", "pa", "för", "for", "med", "har", "jag", "inte", "till",
        "av", "om", "de", "ett", "den", "men", "vi", "kan", "vill", "ska", "eller", "från", "fran", "min", "mitt",
        "mina", "hur", "när", "nar", "var", "vad", "varför", "varfor", "tack", "finns", "också", "ocksa", "bara",
        "kommer", "skulle", "någon", "nagon", "något", "nagot", "nu", "här", "där", "dar", "efter", "sedan", "sen",
        "får", "far", "måste", "maste", "ni", "er", "han", "hon", "dom", "oss", "sig", "sin", "sitt", "sina", "igen",
        "ingen", "inget", "mycket", "blir", "blev", "hade", "kunna", "i", "the", "and", "to", "of", "a", "in", "is",
        "that", "it", "on", "with", "as", "was", "be", "are", "have", "this", "my", "we", "you", "not", "but", "at",
        "from", "or", "an", "they", "our", "can", "would", "will", "could", "please", "thanks", "thank", "about",
        "what", "when", "where", "how", "why", "there", "been", "has", "had", "do", "does", "did", "your", "just"
    ]
)
_FUNCTION_WORD_MIN_WORDS = 15
_NO_FUNCTION_WORDS_MIN = 7
_MIN_FUNCTION_WORD_SHARE = 0.05
# Arabic written in Latin letters ("Arabizi") spells the sounds Latin lacks with digits: 3ayn, 7a, halla2.
# Two such words name it; no text of the corpus has even one (road numbers like E4 do not count).
_ARABIZI = re.compile(r"(?<![\w-])(?:[a-z]*[a-z][2-9][a-z]+|[a-z]{2,}[2-9]|[2-9][a-z]{2,})(?![\w-])", re.IGNORECASE)
_MIN_ARABIZI = 2


def script_of(char: str) -> str | None:
    """'latin', 'arabic', 'cyrillic' or 'ethiopic' for a letter of those scripts, else None."""
    point = ord(char)
    for script, ranges in _SCRIPT_RANGES.items():
        if any(low <= point <= high for low, high in ranges):
            return script
    if "LATIN" in unicodedata.name(char, ""):
        return "latin"
    return None


_SCRIPT_SEARCH = {
    script: re.compile("[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in ranges) + "]")
    for script, ranges in _SCRIPT_RANGES.items()
}


# Latin letters: Basic Latin, Latin-1, Latin Extended-A and -B (å, ä, ö, č, ł, ...).
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]")


def has_script(text: str, script: str) -> bool:
    """Whether `text` holds a letter of `script` ('arabic', 'cyrillic' or 'ethiopic')."""
    return _SCRIPT_SEARCH[script].search(text) is not None


def dominant_script(text: str) -> str | None:
    """The script most letters of `text` are written in ('latin', 'arabic', 'cyrillic', 'ethiopic'), or None."""
    counts = {script: len(search.findall(text)) for script, search in _SCRIPT_SEARCH.items()}
    counts["latin"] = len(_LATIN_LETTER.findall(text))
    script = max(counts, key=counts.__getitem__)
    return script if counts[script] else None


@cache
def _detector(script: str) -> LanguageDetector:
    # Low-accuracy mode reads trigrams only: its models load in half a second, where the full ones for all Latin
    # candidates take about twenty (once per process, on the first inquiry). `_second_opinion` covers its
    # weakness, short texts.
    languages = {"latin": _LATIN, "arabic": _ARABIC_SCRIPT, "cyrillic": _CYRILLIC}[script]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


@cache
def _second_opinion(candidate: Language) -> LanguageDetector:
    """Full-accuracy models of Swedish, English and one other candidate: a text that the trigrams call foreign
    is asked again, loading only three languages' models."""
    return LanguageDetectorBuilder.from_languages(Language.SWEDISH, Language.ENGLISH, candidate).build()


def _code(language: Language) -> str:
    code = language.iso_code_639_1.name.lower()
    return "hbs" if code in _HBS else code


def _script_text(text: str, script: str) -> str:
    """The first words written in `script`: a Swedish signature under an Arabic mail must not sway the choice,
    and a few dozen words name a language as well as a whole letter does, at a fraction of the time."""
    words = (word for word in _WORD.findall(text) if script_of(word[0]) == script)
    return " ".join(islice(words, _MAX_WORDS))


def detect_language(text: str) -> str:
    """The ISO code of the language `text` is written in ('sv', 'fi', 'ar', 'hbs', ...), 'und' when it has no
    letters or reads as no language we know. Short Latin-script texts count as Swedish, the usual case."""
    text = unicodedata.normalize("NFC", text)
    script = dominant_script(text)
    if script is None:
        return UNDETERMINED
    if script == "ethiopic":
        # Tigrinya and Amharic share the script; in Sweden nearly all of it is Tigrinya (Eritreans).
        return "ti"
    words = _script_text(text, script)
    if script != "latin":
        confidences = _detector(script).compute_language_confidence_values(words)
        return _code(confidences[0].language) if confidences else UNDETERMINED
    if len(_ARABIZI.findall(text)) >= _MIN_ARABIZI:
        return "ar"
    if len(words.split()) < _MIN_WORDS:
        return SWEDISH
    return _latin_language(words)


def _latin_language(words: str) -> str:
    confidences = _detector("latin").compute_language_confidence_values(words)
    if not confidences:
        return SWEDISH
    lowered = _WORD.findall(words.lower())
    function_words = sum(word in _FUNCTION_WORDS for word in lowered)
    if confidences[0].language not in (Language.SWEDISH, Language.ENGLISH) and (
            len(lowered) < _NO_FUNCTION_WORDS_MIN or function_words):
        # Not asked when a text of some length has none of the little words of Swedish or English: that is
        # foreign mail with a Swedish loanword ("hemtjänst"), which the full models would call Swedish.
        confidences = _second_opinion(confidences[0].language).compute_language_confidence_values(words)
    best = confidences[0]
    code = _code(best.language)
    if best.language in _SWEDISH_LOOKALIKES:
        value = {c.language: c.value for c in confidences}
        swedish_words = sum(word in _SWEDISH_ONLY for word in lowered)
        if value.get(Language.ENGLISH, 0.0) >= _SWEDISH_MARGIN * best.value:
            code = "en"  # English with Swedish place names and loanwords
        elif value.get(Language.SWEDISH, 0.0) >= _SWEDISH_MARGIN * best.value \
                or swedish_words > sum(word in _NORDIC_ONLY for word in lowered):
            code = SWEDISH
    if code in ("sv", "en") and len(lowered) >= _FUNCTION_WORD_MIN_WORDS \
            and function_words < _MIN_FUNCTION_WORD_SHARE * len(lowered):
        # Swedish place names and loanwords in romanised Persian or Ukrainian fool the n-grams; a long text
        # with almost none of the little words of Swedish or English is neither.
        return UNDETERMINED
    return code


def language_name(code: str | None) -> str:
    """The Swedish name of a language code, for people: 'arabiska', 'finska'; the code itself if unknown."""
    if not code:
        return LANGUAGE_NAMES[UNDETERMINED]
    return LANGUAGE_NAMES.get(code, code)
