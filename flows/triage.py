"""Triage flow: classify and route every new case with the registered model."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from models import tracking
from models.batch import TriageReport, triage_new_cases
from pipeline.config import load_taxonomy, load_tenant
from pipeline.store import open_store


@task
def triage_new(store_url: str, model_uri: str, tracking_uri: str, config_dir: str, tenant: str) -> TriageReport:
    taxonomy = load_taxonomy(Path(config_dir))
    tenant_config = load_tenant(Path(config_dir), tenant, taxonomy)
    tracking.configure_uri(tracking_uri)
    classifier = tracking.load_classifier(model_uri)
    store = open_store(store_url)
    try:
        return triage_new_cases(store, classifier, tenant_config)
    finally:
        store.dispose()


@flow(name="triage")
def triage_flow(store_url: str, model_uri: str, tracking_uri: str, config_dir: str, tenant: str) -> TriageReport:
    report = triage_new(store_url, model_uri, tracking_uri, config_dir, tenant)
    get_run_logger().info("routed %d cases (%d to manual triage, %d akut)", report.routed, report.needs_review,
                          report.akut)
    return report
