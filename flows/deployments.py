"""Deployments of the flows with their schedules (Europe/Stockholm), for `triage flows serve` or a work pool.

Ingest runs per source every few minutes, triage shortly after each ingest, the monitor daily, training
nightly. Promotion and backlog scoring have no schedule: a person starts them (promotion changes which model
routes, so it stays a deliberate act; the rules it applies are recorded with every decision)."""

from __future__ import annotations

from dataclasses import dataclass

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType

from pipeline.config import Settings, load_training
from pipeline.inbox import MAIL_DIR_NAME, VENDOR_A_FILE

TIMEZONE = "Europe/Stockholm"


@dataclass(frozen=True)
class Plan:
    name: str
    cron: str | None
    description: str
    # One run at a time where two would only duplicate work (triage is safe to overlap, but wasteful).
    concurrency_limit: int | None = None


PLANS = {
    "ingest-mail": Plan("ingest-mail", "*/5 * * * *", "e-mails from the drop folder, every 5 minutes"),
    "ingest-calls": Plan("ingest-calls", "*/5 * * * *", "contact-centre call log, every 5 minutes"),
    "triage": Plan("triage", "2-59/5 * * * *", "classify and route new cases, 2 minutes after each ingest", 1),
    "monitor": Plan("monitor", "0 6 * * *", "daily monitor report at 06:00"),
    "train": Plan("train", "0 2 * * *", "nightly training of a challenger at 02:00", 1),
    "promote": Plan("promote", None, "challenger vs champion; started by a person", 1),
    "score-backlog": Plan("score-backlog", None, "score a JSON Lines backlog; started by a person"),
}


def build_deployments(settings: Settings, for_work_pool: bool = False) -> list[RunnerDeployment]:
    """Every flow as a deployment with parameters from the settings (paths and URIs, never live objects).
    For a work pool, flows are referenced by module path (`flows.triage.triage_flow`), so any worker machine
    with kommun-triage installed can run them without shipping code."""
    from flows.backlog import score_backlog_flow
    from flows.ingest import ingest_flow
    from flows.monitor import monitor_flow
    from flows.promote import promote_flow
    from flows.train import train_flow
    from flows.triage import triage_flow

    config_dir, tracking_uri, store_url = str(settings.config_dir), settings.tracking_uri, settings.case_store_url
    artifact_root = str(settings.artifact_root)
    champion = f"models:/{load_training(settings.config_dir).registered_model}@champion"
    parameters = {
        "ingest-mail": (ingest_flow, {"store_url": store_url, "mail_dir": str(settings.inbox_dir / MAIL_DIR_NAME)}),
        "ingest-calls": (ingest_flow, {"store_url": store_url, "call_log": str(settings.inbox_dir / VENDOR_A_FILE)}),
        "triage": (triage_flow, {"store_url": store_url, "model_uri": champion, "tracking_uri": tracking_uri,
                                 "config_dir": config_dir, "tenant": settings.tenant, "artifact_root": artifact_root}),
        "monitor": (monitor_flow, {"store_url": store_url, "config_dir": config_dir, "tracking_uri": tracking_uri,
                                   "tenant": settings.tenant, "artifact_root": artifact_root}),
        "train": (train_flow, {"config_dir": config_dir, "tracking_uri": tracking_uri, "artifact_root": artifact_root,
                               "model_cache": str(settings.model_cache)}),
        "promote": (promote_flow, {"config_dir": config_dir, "tracking_uri": tracking_uri,
                                   "artifact_root": artifact_root}),
        "score-backlog": (score_backlog_flow, {"model_uri": champion, "tracking_uri": tracking_uri,
                                               "config_dir": config_dir, "tenant": settings.tenant}),
    }
    deployments = []
    for key, (deployed_flow, flow_parameters) in parameters.items():
        plan = PLANS[key]
        deployments.append(deployed_flow.to_deployment(
            name=plan.name,
            description=plan.description,
            parameters=flow_parameters,
            schedules=[Cron(plan.cron, timezone=TIMEZONE)] if plan.cron else None,
            concurrency_limit=plan.concurrency_limit,
            tags=["kommun-triage", settings.tenant],
            entrypoint_type=EntrypointType.MODULE_PATH if for_work_pool else EntrypointType.FILE_PATH,
        ))
    return deployments
