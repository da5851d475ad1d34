"""Ingestion sources as configured in configs/sources/*.yaml: mail folders, mbox, Maildir, IMAP and call-log exports.

One YAML file per source, its `kind` says which reader it takes. Call-log sources map the vendor's column or key
names onto ours, so a new contact-centre export is a config file, not code. Passwords never go in YAML: an IMAP
source names the environment variable that holds its password.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator, model_validator

from pipeline.config import ConfigError, load_yaml

SOURCE_NAME = r"^[a-z][a-z0-9_]{1,40}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CallFields(_Strict):
    """Our field name -> the vendor's column (CSV) or key (JSON). Only call_id, started_at and notes are required."""

    call_id: str
    started_at: str
    notes: str
    caller: str | None = None
    agent: str | None = None
    reason: str | None = None
    transcript: str | None = None
    duration: str | None = None


class CallLogSource(_Strict):
    """A contact-centre export: a delimited text file (call_csv) or a JSON array of objects (call_json)."""

    kind: Literal["call_csv", "call_json"]
    name: str = Field(pattern=SOURCE_NAME)
    description: str = ""
    path: Path | None = Field(default=None, description="Default file; `triage ingest --path` overrides it.")
    # 'auto' reads UTF-8 (with or without BOM) and falls back to Windows-1252, as Excel on Swedish Windows saves.
    encoding: str = "auto"
    delimiter: str = Field(default=";", min_length=1, max_length=1)
    timezone: str = "Europe/Stockholm"
    timestamp_formats: list[str] = Field(default=["iso"], min_length=1, description="strptime formats or 'iso'.")
    duration_unit: Literal["seconds", "minutes"] = "seconds"
    fields: CallFields

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        if value != "auto":
            try:
                codecs.lookup(value)
            except LookupError as exc:
                raise ValueError(f"unknown encoding '{value}' (use e.g. utf-8, windows-1252 or auto)") from exc
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}'") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class MailFolderSource(_Strict):
    """A folder of .eml files (eml_dir), an mbox file (mbox) or a Maildir (maildir); read only, never changed."""

    kind: Literal["eml_dir", "mbox", "maildir"]
    name: str = Field(pattern=SOURCE_NAME)
    description: str = ""
    path: Path | None = None


class ImapSource(_Strict):
    """An IMAP folder that is polled; what has been stored is marked with a keyword or moved to another folder."""

    kind: Literal["imap"]
    name: str = Field(pattern=SOURCE_NAME)
    description: str = ""
    host: str
    port: int = Field(default=993, ge=1, le=65535)
    ssl: bool = True
    user: str
    password_env: str = Field(default="TRIAGE_IMAP_PASSWORD", pattern=r"^[A-Z_][A-Z0-9_]*$")
    folder: str = "INBOX"
    processed: Literal["keyword", "move"] = "keyword"
    processed_keyword: str = Field(default="$TriageDone", pattern=r"^\$?[A-Za-z][A-Za-z0-9_]*$")
    processed_folder: str = "Behandlat"
    batch_size: int = Field(default=50, ge=1, le=1000)

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: object) -> object:
        if isinstance(data, dict) and any(re.fullmatch(r"pass(word)?|secret", str(key)) for key in data):
            raise ValueError("passwords never go in a config file: set the variable named by password_env instead")
        return data


SourceConfig = Annotated[CallLogSource | MailFolderSource | ImapSource, Field(discriminator="kind")]


class SourceFile(RootModel[SourceConfig]):
    pass


def load_source(path: Path) -> CallLogSource | MailFolderSource | ImapSource:
    source = load_yaml(path, SourceFile).root
    if source.name != path.stem:
        raise ConfigError(f"{path} declares name '{source.name}'; it must match the file name '{path.stem}'")
    return source


def load_sources(config_dir: Path) -> dict[str, CallLogSource | MailFolderSource | ImapSource]:
    """Every configs/sources/*.yaml by name; an invalid file stops with its name and the field at fault."""
    return {path.stem: load_source(path) for path in sorted((config_dir / "sources").glob("*.yaml"))}
