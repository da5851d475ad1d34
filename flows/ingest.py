"""Ingest flow: e-mail (.eml folder, mbox, Maildir, IMAP) and call-log sources into the case store."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from pipeline.ingest import IngestReport, read_call_log, read_eml_folder, store_messages
from pipeline.ingest_sources import ingest_source
from pipeline.sources import SourceFile
from pipeline.store import open_store


@task(retries=2, retry_delay_seconds=[2, 10])
def ingest_mail_folder(folder: str, store_url: str, source: str = "maildrop") -> IngestReport:
    store = open_store(store_url)
    try:
        return store_messages(read_eml_folder(Path(folder), source=source), store)
    finally:
        store.dispose()


@task(retries=2, retry_delay_seconds=[2, 10])
def ingest_call_log(path: str, store_url: str, source: str = "vendor_a") -> IngestReport:
    store = open_store(store_url)
    try:
        return store_messages(read_call_log(Path(path), source=source), store)
    finally:
        store.dispose()


@task(retries=2, retry_delay_seconds=[2, 10])
def ingest_configured_source(source: dict, store_url: str, path: str | None = None) -> IngestReport:
    """One source as configured (a dict of configs/sources/*.yaml; an IMAP password is read from the environment)."""
    store = open_store(store_url)
    try:
        return ingest_source(SourceFile.model_validate(source).root, store, path=Path(path) if path else None)
    finally:
        store.dispose()


@flow(name="ingest")
def ingest_flow(store_url: str, mail_dir: str | None = None, call_log: str | None = None,
                sources: list[tuple[dict, str | None]] | None = None) -> list[IngestReport]:
    """`sources`: (source config as a dict, path override or None) pairs, each ingested by its own task."""
    logger = get_run_logger()
    reports = []
    if mail_dir:
        reports.append(ingest_mail_folder(mail_dir, store_url))
    if call_log:
        reports.append(ingest_call_log(call_log, store_url))
    for source, path in sources or []:
        reports.append(ingest_configured_source(source, store_url, path))
    for report in reports:
        logger.info("read %d, stored %d new, %d auto-replies and bounces skipped, %d quarantined, %d resolved",
                    report.read, report.stored, report.skipped_auto_replies, len(report.failed), report.resolved)
    return reports
