"""Triage flow: classify and route every new case with the registered model; the challenger, when there is
one, classifies the same cases in shadow mode (nothing it says is routed) and its agreement is recorded."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.tasks import exponential_backoff

from models import tracking
from models.base import InquiryText
from models.batch import TriageReport, triage_new_cases
from models.shadow import ShadowComparison
from pipeline.config import load_taxonomy, load_tenant, load_training
from pipeline.domain import Inquiry, Prediction
from pipeline.store import open_store


def _shadow_uri(config_dir: str, model_uri: str) -> tuple[str, str] | None:
    """The challenger's URI and version when the champion routes and a different challenger exists."""
    name = load_training(Path(config_dir)).registered_model
    if model_uri != f"models:/{name}@{tracking.CHAMPION}":
        return None
    challenger = tracking.alias_version(name, tracking.CHALLENGER)
    if challenger is None or challenger == tracking.alias_version(name, tracking.CHAMPION):
        return None
    return f"models:/{name}/{challenger}", f"{name}/{challenger}"


# Classifying and routing reads and writes the case store; every case is routed at most once (a case that has
# left state `new` is skipped), so a retry or a re-run after a crash picks up exactly what is left.
@task(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=5))
def triage_new(store_url: str, model_uri: str, tracking_uri: str, config_dir: str, tenant: str,
               shadow: bool = True, artifact_root: str | None = None) -> TriageReport:
    taxonomy = load_taxonomy(Path(config_dir))
    tenant_config = load_tenant(Path(config_dir), tenant, taxonomy)
    tracking.configure_uri(tracking_uri)
    classifier = tracking.load_classifier(model_uri)
    target = _shadow_uri(config_dir, model_uri) if shadow else None
    comparison = observe = None
    if target is not None:
        challenger = tracking.load_classifier(target[0])
        comparison = ShadowComparison(champion_version=classifier.version, challenger_version=target[1])

        def observe(inquiries: list[Inquiry], texts: list[InquiryText], predictions: list[Prediction]) -> None:
            comparison.add(inquiries, predictions, challenger.predict(texts), tenant_config)

    store = open_store(store_url)
    try:
        report = triage_new_cases(store, classifier, tenant_config, observe=observe)
    finally:
        store.dispose()
    if comparison is None or not comparison.cases:
        return report
    tracking.log_operation_run(
        load_training(Path(config_dir)).experiment + tracking.OPERATIONS_SUFFIX, Path(artifact_root) if artifact_root else None,
        f"shadow {comparison.challenger_version}",
        params={"champion": comparison.champion_version, "challenger": comparison.challenger_version},
        metrics=comparison.metrics(), tags={"operation": "shadow"},
        texts={"shadow_disagreements.tsv": comparison.disagreement_table()},
    )
    return dataclasses.replace(report, shadow=comparison.summary())


@flow(name="triage")
def triage_flow(store_url: str, model_uri: str, tracking_uri: str, config_dir: str, tenant: str,
                shadow: bool = True, artifact_root: str | None = None) -> TriageReport:
    report = triage_new(store_url, model_uri, tracking_uri, config_dir, tenant, shadow, artifact_root)
    logger = get_run_logger()
    logger.info("routed %d cases (%d to manual triage, %d akut)", report.routed, report.needs_review, report.akut)
    if report.shadow:
        logger.info("%s", report.shadow)
        create_markdown_artifact(f"# Shadow mode\n\n{report.shadow}\n", key="shadow",
                                 description="challenger agreement with the champion")
    return report
