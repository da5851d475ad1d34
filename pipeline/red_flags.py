"""Red flags: a rule layer over the model's urgency for the cases where a miss is dangerous.

Rules live in configs/red_flags.yaml: each has regular expressions per language (Swedish, English and the
languages residents most often write in besides: Finnish, Arabic, Persian, Somali, Tigrinya, Polish,
Bosnian/Croatian/Serbian, Ukrainian), optional exclusion patterns (`unless`: general questions, past events,
prevention talk) per language, the urgency it raises to (akut or hog) and who to alert after hours (socialjour,
va_jour, 112, ...). The layer only ever raises urgency, never lowers it, and every hit becomes a line in the
routing trace so a handler can see why a case jumped the queue.

Usage::

    matcher = RedFlagMatcher.from_config(load_red_flags(config_dir))
    hits = matcher.scan(f"{subject}\\n{body}")
    urgency, trace = apply_red_flags(prediction.urgency, hits)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.config import URGENCY_CODES, load_yaml
from pipeline.language import LANGUAGE_NAMES, detect_language, has_script

RED_FLAGS_FILE = "red_flags.yaml"
_FLAGS = re.IGNORECASE
# Higher number = more urgent; URGENCY_CODES is ordered akut, hog, normal, lag.
_RANK = {code: len(URGENCY_CODES) - i for i, code in enumerate(URGENCY_CODES)}
# Sentence boundaries for the `unless` scope; a newline also ends a sentence (e-mail lines, signatures). Arabic
# and Ge'ez scripts have question marks and full stops of their own.
_SENTENCE_END = re.compile(r"[.!?\n\u061f\u06d4\u1362\u1367\u1368]+")
# Arabic-script vowel marks and the tatweel stretch are optional in writing: removed before matching, so a
# pattern written without them matches text written with them.
_ARABIC_MARKS = re.compile(r"[\u0640\u064b-\u065f\u0670]")
_SNIPPET_MAX = 80
# Runs of spaces, tabs and no-break spaces (but not newlines, which end sentences) become one space,
# so that "vill inte\u00a0leva" matches a pattern written with a plain space.
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")


@cache
def _regex(source: str) -> re.Pattern[str]:
    # Compiling two thousand case-insensitive Unicode patterns takes seconds: validation and matcher share one
    # compiled copy per process.
    return re.compile(source, _FLAGS)


def _alternation(regexes: list[str]) -> re.Pattern[str]:
    # One regex per rule and language scans the text once instead of once per pattern.
    return _regex("|".join(f"(?:{regex})" for regex in regexes))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ALL_LANGUAGES = "all"
# Swedish and English: the languages of nearly all mail, and the only ones whose patterns always run.
_ALWAYS_SCANNED = frozenset({"sv", "en"})
# Languages written in another script than Latin, whose patterns run on any text that contains that script.
_SCRIPT_OF_LANGUAGE = {"ar": "arabic", "fa": "arabic", "ti": "ethiopic", "uk": "cyrillic", "hbs": "cyrillic"}


class RedFlagRule(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    raise_to: Literal["akut", "hog"]
    alert: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    reason: str = Field(min_length=1)
    # Patterns per language code; the text is scanned with every language's patterns, since mail mixes them.
    patterns: dict[str, list[str]] = Field(min_length=1)
    # Exclusion contexts per language, searched in the sentence around a match (or the whole message) of that
    # language's patterns; those under "all" exclude a match in any language.
    unless: dict[str, list[str]] = {}
    unless_scope: Literal["sentence", "message"] = "sentence"

    @property
    def languages(self) -> list[str]:
        return list(self.patterns)

    @model_validator(mode="after")
    def _check_regexes(self) -> RedFlagRule:
        for kind, by_language, extra in (("pattern", self.patterns, set()), ("unless", self.unless, {ALL_LANGUAGES})):
            for language, regexes in by_language.items():
                if language not in LANGUAGE_NAMES and language not in extra:
                    raise ValueError(f"rule '{self.id}': {kind}: unknown language '{language}' "
                                     f"(known: {sorted(set(LANGUAGE_NAMES) | extra)})")
                if not regexes:
                    raise ValueError(f"rule '{self.id}': {kind}: nothing listed for language '{language}'")
                # Fail at load time, naming rule and regex, rather than on the first message that reaches it.
                try:
                    combined = _alternation(regexes)
                except re.error:
                    combined = None
                if combined is None or combined.search("") or combined.groupindex:
                    self._name_the_bad_regex(kind, regexes)
        return self

    def _name_the_bad_regex(self, kind: str, regexes: list[str]) -> None:
        for regex in regexes:
            try:
                compiled = re.compile(regex, _FLAGS)
            except re.error as exc:
                raise ValueError(f"rule '{self.id}': {kind} '{regex}' is not a valid regex: {exc}") from exc
            if compiled.search(""):
                raise ValueError(f"rule '{self.id}': {kind} '{regex}' matches the empty string")
            if compiled.groupindex:
                raise ValueError(f"rule '{self.id}': {kind} '{regex}' has a named group; use (?:...)")
        # Each compiles alone, so together they clash: e.g. an inline global flag such as (?i) not at the start.
        raise ValueError(f"rule '{self.id}': {kind}s cannot be combined into one regex")


class RedFlagConfig(_Strict):
    version: str
    rules: list[RedFlagRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_ids(self) -> RedFlagConfig:
        ids = [rule.id for rule in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"rule ids must be unique, duplicated: {duplicates}")
        return self


def load_red_flags(config_dir: Path) -> RedFlagConfig:
    """Read and validate configs/red_flags.yaml; any problem is a ConfigError naming the file and the rule."""
    return load_yaml(config_dir / RED_FLAGS_FILE, RedFlagConfig)


@dataclass(frozen=True)
class RedFlagHit:
    rule_id: str
    raise_to: str
    alert: str
    reason: str
    snippet: str  # the matched text, whitespace collapsed and cut to a readable length


@dataclass(frozen=True)
class _CompiledRule:
    rule: RedFlagRule
    # Per language: its patterns in one regex, and its exclusions with those under "all" (None: none).
    patterns: dict[str, re.Pattern[str]]
    unless: dict[str, re.Pattern[str] | None]


def _compile(rule: RedFlagRule) -> _CompiledRule:
    shared = rule.unless.get(ALL_LANGUAGES, [])
    unless = {language: shared + rule.unless.get(language, []) for language in rule.patterns}
    return _CompiledRule(rule, {language: _alternation(regexes) for language, regexes in rule.patterns.items()},
                         {language: _alternation(regexes) if regexes else None for language, regexes in unless.items()})


def _languages_to_scan(text: str, language: str) -> set[str] | None:
    """The languages whose patterns to run on `text` (None: all). Scanning Swedish mail with a thousand patterns
    in eight more languages would take twenty times as long, for nothing."""
    if language not in _ALWAYS_SCANNED:
        return None
    return _ALWAYS_SCANNED | {code for code, script in _SCRIPT_OF_LANGUAGE.items() if has_script(text, script)}


def _sentence_around(text: str, start: int, end: int) -> str:
    left = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    right_match = _SENTENCE_END.search(text, end)
    return text[left : right_match.start() if right_match else len(text)]


def _snippet(matched: str) -> str:
    flat = " ".join(matched.split())
    return flat if len(flat) <= _SNIPPET_MAX else flat[: _SNIPPET_MAX - 1] + "…"


class RedFlagMatcher:
    """All rules compiled once. Pickles as its config and recompiles on load, so a joblib-saved
    pipeline carries the rules it was built with and does not depend on `re` internals."""

    def __init__(self, config: RedFlagConfig) -> None:
        self._load(config)

    def _load(self, config: RedFlagConfig) -> None:
        self.config = config
        self._rules = tuple(_compile(rule) for rule in config.rules)

    @classmethod
    def from_config(cls, config: RedFlagConfig) -> RedFlagMatcher:
        return cls(config)

    @property
    def version(self) -> str:
        return self.config.version

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config.model_dump(mode="json")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._load(RedFlagConfig.model_validate(state["config"]))

    def scan(self, text: str, language: str | None = None) -> list[RedFlagHit]:
        """At most one hit per rule: the earliest match in the text whose context is not excluded.
        Rules are scanned in config order, so the trace reads in the order the config lists them.

        `language` is the text's language code (detected here when None). Swedish and English text is scanned
        with the Swedish and English patterns, and those of any other script it contains (a quoted Arabic
        line); text in any other language with every language's: a mail in Polish may well be in Somali."""
        hits: list[RedFlagHit] = []
        if not text:
            return hits
        # NFC first: a decomposed "a\u0308" would not match the class [äa] that the patterns use.
        text = _ARABIC_MARKS.sub("", _HORIZONTAL_SPACE.sub(" ", unicodedata.normalize("NFC", text)))
        languages = _languages_to_scan(text, detect_language(text) if language is None else language)
        for compiled in self._rules:
            match = self._first_match(compiled, text, languages)
            if match is not None:
                rule = compiled.rule
                hits.append(RedFlagHit(rule.id, rule.raise_to, rule.alert, rule.reason, _snippet(match.group(0))))
        return hits

    @staticmethod
    def _first_match(compiled: _CompiledRule, text: str, languages: set[str] | None) -> re.Match[str] | None:
        by_sentence = compiled.rule.unless_scope == "sentence"
        earliest = None
        for language, pattern in compiled.patterns.items():
            if languages is not None and language not in languages:
                continue
            unless = compiled.unless[language]
            for match in pattern.finditer(text, 0, earliest.start() if earliest else len(text)):
                if unless is not None and unless.search(
                        _sentence_around(text, match.start(), match.end()) if by_sentence else text):
                    continue
                earliest = match
                break
        return earliest


def apply_red_flags(urgency: str, hits: list[RedFlagHit]) -> tuple[str, list[str]]:
    """Raise `urgency` to the highest level any hit asks for; never lower it. One trace line per hit,
    including hits that change nothing because the case already was at least that urgent."""
    if urgency not in _RANK:
        raise ValueError(f"unknown urgency {urgency!r}; expected one of {URGENCY_CODES}")
    result = urgency
    trace: list[str] = []
    for hit in hits:
        if hit.raise_to not in _RANK:
            raise ValueError(f"red flag {hit.rule_id} has unknown raise_to {hit.raise_to!r}")
        line = f"red flag {hit.rule_id}: '{hit.snippet}' -> {hit.raise_to} (alert {hit.alert})"
        if _RANK[hit.raise_to] > _RANK[result]:
            result = hit.raise_to
        elif _RANK[hit.raise_to] <= _RANK[urgency]:
            line += f"; urgency already {urgency}"
        trace.append(line)
    return result, trace
