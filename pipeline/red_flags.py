"""Red flags: a rule layer over the model's urgency for the cases where a miss is dangerous.

Rules live in configs/red_flags.yaml: each has Swedish and English regular expressions, optional exclusion
patterns (`unless`: general questions, past events, prevention talk), the urgency it raises to (akut or hog)
and who to alert after hours (socialjour, va_jour, 112, ...). The layer only ever raises urgency, never
lowers it, and every hit becomes a line in the routing trace so a handler can see why a case jumped the queue.

Usage::

    matcher = RedFlagMatcher.from_config(load_red_flags(config_dir))
    hits = matcher.scan(f"{subject}\\n{body}")
    urgency, trace = apply_red_flags(prediction.urgency, hits)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.config import URGENCY_CODES, load_yaml

RED_FLAGS_FILE = "red_flags.yaml"
_FLAGS = re.IGNORECASE
# Higher number = more urgent; URGENCY_CODES is ordered akut, hog, normal, lag.
_RANK = {code: len(URGENCY_CODES) - i for i, code in enumerate(URGENCY_CODES)}
# Sentence boundaries for the `unless` scope; a newline also ends a sentence (e-mail lines, signatures).
_SENTENCE_END = re.compile(r"[.!?\n]+")
_SNIPPET_MAX = 80
# Runs of spaces, tabs and no-break spaces (but not newlines, which end sentences) become one space,
# so that "vill inte\u00a0leva" matches a pattern written with a plain space.
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")


def _alternation(regexes: list[str]) -> re.Pattern[str]:
    # One regex per rule scans the text once instead of once per pattern (about 2x faster on the corpus).
    return re.compile("|".join(f"(?:{regex})" for regex in regexes), _FLAGS)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RedFlagRule(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    raise_to: Literal["akut", "hog"]
    alert: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    reason: str = Field(min_length=1)
    patterns: list[str] = Field(min_length=1)
    # Exclusion contexts, searched in the sentence around a match (or the whole message, see unless_scope).
    unless: list[str] = []
    unless_scope: Literal["sentence", "message"] = "sentence"
    languages: list[Literal["sv", "en"]] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_regexes(self) -> RedFlagRule:
        # Fail at load time, naming rule and regex, rather than on the first message that reaches the bad pattern.
        for kind, regexes in (("pattern", self.patterns), ("unless", self.unless)):
            for regex in regexes:
                try:
                    compiled = re.compile(regex, _FLAGS)
                except re.error as exc:
                    raise ValueError(f"rule '{self.id}': {kind} '{regex}' is not a valid regex: {exc}") from exc
                if compiled.search(""):
                    raise ValueError(f"rule '{self.id}': {kind} '{regex}' matches the empty string")
        for kind, regexes in (("patterns", self.patterns), ("unless", self.unless)):
            if regexes:
                try:
                    _alternation(regexes)
                except re.error as exc:  # e.g. an inline global flag such as (?i) that is not at the start
                    raise ValueError(f"rule '{self.id}': {kind} cannot be combined into one regex: {exc}") from exc
        if len(set(self.languages)) != len(self.languages):
            raise ValueError(f"rule '{self.id}': languages listed twice: {self.languages}")
        return self


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
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None


def _compile(rule: RedFlagRule) -> _CompiledRule:
    return _CompiledRule(rule, _alternation(rule.patterns), _alternation(rule.unless) if rule.unless else None)


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

    def scan(self, text: str) -> list[RedFlagHit]:
        """At most one hit per rule: the earliest match in the text whose context is not excluded.
        Rules are scanned in config order, so the trace reads in the order the config lists them."""
        hits: list[RedFlagHit] = []
        if not text:
            return hits
        # NFC first: a decomposed "a\u0308" would not match the class [äa] that the patterns use.
        text = _HORIZONTAL_SPACE.sub(" ", unicodedata.normalize("NFC", text))
        for compiled in self._rules:
            match = self._first_match(compiled, text)
            if match is not None:
                rule = compiled.rule
                hits.append(RedFlagHit(rule.id, rule.raise_to, rule.alert, rule.reason, _snippet(match.group(0))))
        return hits

    @staticmethod
    def _first_match(compiled: _CompiledRule, text: str) -> re.Match[str] | None:
        unless, by_sentence = compiled.unless, compiled.rule.unless_scope == "sentence"
        if unless is not None and not by_sentence and unless.search(text):
            return None
        for match in compiled.pattern.finditer(text):
            if unless is not None and by_sentence and unless.search(_sentence_around(text, match.start(), match.end())):
                continue
            return match
        return None


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
