"""Running one configured source into the case store, and retrying its quarantine: what flows and the CLI call.

IMAP passwords come from the environment variable the source names (never from YAML or task parameters).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pipeline.calllogs import read_call_source
from pipeline.imap import ImapEndpoint, poll_imap
from pipeline.ingest import IngestError, IngestReport, SourceItem, read_eml_folder, store_messages
from pipeline.mailboxes import read_maildir, read_mbox
from pipeline.quarantine import retry, sources_readers
from pipeline.sources import CallLogSource, ImapSource, MailFolderSource
from pipeline.store import CaseStore

AnySource = CallLogSource | MailFolderSource | ImapSource
DEFAULT_PASSWORD_ENV = "TRIAGE_IMAP_PASSWORD"


def read_source(config: CallLogSource | MailFolderSource, path: Path | None = None) -> Iterator[SourceItem]:
    """The items of a file-backed source; `path` overrides the configured one."""
    where = path or config.path
    if where is None:
        raise IngestError(f"source '{config.name}' has no path: set `path` in its config or pass one")
    if isinstance(config, CallLogSource):
        return read_call_source(where, config)
    if config.kind == "eml_dir":
        return read_eml_folder(where, source=config.name)
    if config.kind == "mbox":
        return read_mbox(where, source=config.name)
    return read_maildir(where, source=config.name)


def _password(variable: str, env: Mapping[str, str]) -> str:
    password = env.get(variable)
    if not password:
        raise IngestError(f"the IMAP password is not set: export {variable}")
    return password


def imap_endpoint(config: ImapSource, env: Mapping[str, str] = os.environ) -> ImapEndpoint:
    return ImapEndpoint(host=config.host, port=config.port, user=config.user, password=_password(config.password_env, env),
                        folder=config.folder, ssl=config.ssl, processed=config.processed,
                        processed_keyword=config.processed_keyword, processed_folder=config.processed_folder)


def imap_source_from_url(url: str, *, name: str = "imap", processed: str = "keyword",
                         password_env: str = DEFAULT_PASSWORD_ENV) -> ImapSource:
    """`imap://user@host:port/FOLDER` (imaps:// for TLS) as an IMAP source; the password stays in the environment."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise IngestError(f"not an IMAP URL: {url!r} (expected imap://user@host:port/FOLDER or imaps://...)")
    if parts.password:
        raise IngestError(f"put no password in the URL; export {password_env} instead")
    ssl = parts.scheme == "imaps"
    return ImapSource(kind="imap", name=name, host=parts.hostname, port=parts.port or (993 if ssl else 143), ssl=ssl,
                      user=unquote(parts.username), folder=unquote(parts.path.lstrip("/")) or "INBOX",
                      processed=processed, password_env=password_env)  # type: ignore[arg-type]


def ingest_source(config: AnySource, store: CaseStore, *, path: Path | None = None,
                  env: Mapping[str, str] = os.environ) -> IngestReport:
    """Read one source into the store; failures go to quarantine. Safe to re-run: nothing is stored twice."""
    if isinstance(config, ImapSource):
        return poll_imap(imap_endpoint(config, env), store, source=config.name, batch_size=config.batch_size)
    return store_messages(read_source(config, path), store)


def retry_quarantine(store: CaseStore, sources: Mapping[str, AnySource], *, source: str | None = None
                     ) -> tuple[IngestReport, int]:
    """Re-process the open quarantine entries (see pipeline.quarantine.retry); returns the report and how many stay."""
    read_location, read_payload = sources_readers(sources)
    return retry(store, read_location, read_payload, source=source)
