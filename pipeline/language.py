"""Offline language detection for Swedish and English (anything else is 'other' and goes to manual handling)."""

from __future__ import annotations

import re

_SWEDISH = frozenset(
    [
        "och", "att", "det", "som", "en", "är", "på", "för", "med", "har", "jag", "inte", "till", "av", "om", "de",
        "ett", "den", "men", "vi", "kan", "vill", "ska", "eller", "från", "hej", "min", "mitt", "mina", "vår", "våra",
        "hur", "när", "var", "vad", "varför", "tack", "hälsningar", "undrar", "finns", "också", "bara", "kommer",
        "skulle", "kommunen", "inget", "ingen", "någon", "något", "nu", "här", "där", "efter", "sedan", "får", "måste",
        "redan", "mycket", "ni", "er", "han", "hon", "honom", "henne", "dom", "oss", "sig", "sin", "sitt", "sina",
        "idag", "igen", "fortfarande", "ang", "ringde", "vänliga", "mvh"
    ]
)
_ENGLISH = frozenset(
    [
        "the", "and", "to", "of", "a", "in", "is", "that", "it", "for", "on", "with", "as", "was", "be", "are", "have",
        "this", "my", "we", "you", "not", "but", "at", "from", "or", "an", "they", "our", "can", "would", "will",
        "could", "please", "thanks", "thank", "hello", "hi", "dear", "regards", "about", "what", "when", "where", "how",
        "why", "there", "been", "has", "had", "do", "does", "did", "your", "i'm", "it's", "don't", "help", "need",
        "want", "know", "just"
    ]
)
_WORD = re.compile(r"[a-zåäöéü']+")
_SWEDISH_LETTERS = re.compile(r"[åäö]")


def detect_language(text: str) -> str:
    """'sv', 'en' or 'other', from function-word hits; short texts default to Swedish, the usual case."""
    words = _WORD.findall(text.lower())
    if not words:
        return "other"
    sv = sum(w in _SWEDISH for w in words) + 2 * len(_SWEDISH_LETTERS.findall(text.lower()))
    en = sum(w in _ENGLISH for w in words)
    if sv == 0 and en == 0:
        return "sv" if len(words) <= 6 else "other"
    return "en" if en > sv else "sv"
