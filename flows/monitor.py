"""Monitor flow (daily): routed cases of a window against the training distribution, as a Prefect markdown
artifact and an MLflow run with the figures as metrics."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.tasks import exponential_backoff

from models import tracking
from pipeline.config import load_taxonomy, load_tenant, load_training
from pipeline.corpus import load_split
from pipeline.monitoring import CaseSnapshot, MonitorReport, build_report
from pipeline.store import open_store


@task(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=2))
def read_window(store_url: str, since: str, until: str) -> list[CaseSnapshot]:
    store = open_store(store_url)
    try:
        return store.routed_snapshots(datetime.fromisoformat(since), datetime.fromisoformat(until))
    finally:
        store.dispose()


@task
def compare_with_training(cases: list[CaseSnapshot], config_dir: str, tenant: str, window: str) -> MonitorReport:
    taxonomy = load_taxonomy(Path(config_dir))
    train = load_split(load_training(Path(config_dir)).corpus_path(), "train")
    review_queue = load_tenant(Path(config_dir), tenant, taxonomy).review_queue
    return build_report(cases, Counter(i.topic for i in train), Counter(i.urgency for i in train),
                        taxonomy.topic_codes, taxonomy.urgency_codes, window, review_queue=review_queue)


@task(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=2))
def log_report(report: MonitorReport, config_dir: str, tracking_uri: str, artifact_root: str | None) -> str:
    config = load_training(Path(config_dir))
    tracking.configure_uri(tracking_uri)
    champion = tracking.alias_version(config.registered_model, tracking.CHAMPION) or "none"
    return tracking.log_operation_run(
        config.experiment + tracking.OPERATIONS_SUFFIX, Path(artifact_root) if artifact_root else None,
        f"monitor {report.window}",
        params={"window": report.window, "champion": champion}, metrics=report.metrics(),
        tags={"operation": "monitor"}, texts={"monitor.md": report.markdown()},
    )


@flow(name="monitor")
def monitor_flow(store_url: str, config_dir: str, tracking_uri: str, tenant: str, days: float = 1.0,
                 artifact_root: str | None = None, until: str | None = None) -> MonitorReport:
    end = datetime.fromisoformat(until) if until else datetime.now(UTC)
    start = end - timedelta(days=days)
    window = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    cases = read_window(store_url, start.isoformat(), end.isoformat())
    report = compare_with_training(cases, config_dir, tenant, window)
    log_report(report, config_dir, tracking_uri, artifact_root)
    create_markdown_artifact(report.markdown(), key="monitor-report", description=f"monitor report, {window}")
    get_run_logger().info("monitored %d cases: topic PSI %.3f, manual share %.2f", report.cases, report.topic_psi,
                          report.manual_share)
    return report
