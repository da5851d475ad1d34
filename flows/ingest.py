"""Ingest flow: an .eml drop folder and a call-log CSV into the case store."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from pipeline.ingest import IngestReport, read_call_log, read_eml_folder, store_messages
from pipeline.store import open_store


@task(retries=2, retry_delay_seconds=[2, 10])
def ingest_mail_folder(folder: str, store_url: str, source: str = "maildrop") -> IngestReport:
    store = open_store(store_url)
    try:
        return store_messages(read_eml_folder(Path(folder), source=source), store)
    finally:
        store.dispose()


@task(retries=2, retry_delay_seconds=[2, 10])
def ingest_call_log(path: str, store_url: str, source: str = "calllog") -> IngestReport:
    store = open_store(store_url)
    try:
        return store_messages(read_call_log(Path(path), source=source), store)
    finally:
        store.dispose()


@flow(name="ingest")
def ingest_flow(store_url: str, mail_dir: str | None = None, call_log: str | None = None) -> list[IngestReport]:
    logger = get_run_logger()
    reports = []
    if mail_dir:
        reports.append(ingest_mail_folder(mail_dir, store_url))
    if call_log:
        reports.append(ingest_call_log(call_log, store_url))
    for report in reports:
        logger.info("read %d, stored %d new, %d auto-replies and bounces skipped, %d failed",
                    report.read, report.stored, report.skipped_auto_replies, len(report.failed))
    return reports
