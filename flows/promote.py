"""Promote flow: the challenger against the champion on the frozen test split and recent handler feedback;
the decision and its reason are recorded on the challenger's registered version and as an MLflow run."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.tasks import exponential_backoff

from models import tracking
from models.promotion import FEEDBACK_SET, TEST_SET, decide, score_sets
from pipeline.config import load_training
from pipeline.corpus import load_items, load_split
from pipeline.feedback import FROM_CASE_STORE, FROM_FILE, NO_FEEDBACK, as_items, store_corrections


@task
def compare_challenger(config_dir: str, tracking_uri: str, feedback_path: str | None) -> dict:
    """Score champion and challenger on the same sets and decide; reads models, writes nothing. With no
    challenger to judge, the outcome says why under `skipped` (an expected state, not a failure)."""
    config = load_training(Path(config_dir))
    tracking.configure_uri(tracking_uri)
    name = config.registered_model
    challenger_version = tracking.alias_version(name, tracking.CHALLENGER)
    champion_version = tracking.alias_version(name, tracking.CHAMPION)
    skipped = None
    if challenger_version is None:
        skipped = f"{name} has no @challenger; `triage train` registers one"
    elif challenger_version == champion_version:
        skipped = f"{name} version {challenger_version} already is the champion"
    if skipped:
        return {"model": name, "challenger": challenger_version, "champion": champion_version, "skipped": skipped}
    sets = {TEST_SET: load_split(config.corpus_path(), "test")}
    feedback_source = NO_FEEDBACK
    if feedback_path:
        sets[FEEDBACK_SET], feedback_source = load_items(Path(feedback_path)), FROM_FILE
    elif config.feedback.from_case_store:
        # The corrections of the last holdout_days days: training kept them out, so no candidate has seen them.
        _, recent = store_corrections(Path(config_dir), config.feedback.holdout_days)
        if recent:
            sets[FEEDBACK_SET], feedback_source = as_items(recent), FROM_CASE_STORE
    challenger_scores = score_sets(tracking.load_classifier(f"models:/{name}/{challenger_version}"), sets)
    champion_scores = (score_sets(tracking.load_classifier(f"models:/{name}/{champion_version}"), sets)
                       if champion_version else None)
    decision = decide(challenger_scores, champion_scores, config.promotion)
    return {"model": name, "challenger": challenger_version, "champion": champion_version,
            "feedback_source": feedback_source, "feedback_cases": len(sets.get(FEEDBACK_SET, [])), **asdict(decision)}


@task(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=2))
def record_decision(config_dir: str, tracking_uri: str, artifact_root: str, outcome: dict) -> str:
    """Tag the challenger's version with the decision, move the aliases when it wins, and log an MLflow run.
    Safe to retry: every step sets a value rather than adding one."""
    config = load_training(Path(config_dir))
    tracking.configure_uri(tracking_uri)
    name, challenger, champion = outcome["model"], outcome["challenger"], outcome["champion"]
    verdict = "promoted" if outcome["promote"] else "rejected"
    tracking.tag_version(name, challenger, {"promotion_decision": verdict, "promotion_reason": outcome["reason"],
                                            "promotion_compared_to": champion or "none"})
    if outcome["promote"]:
        tracking.make_champion(name, challenger)
        tracking.drop_alias(name, tracking.CHALLENGER)
    return tracking.log_operation_run(
        config.experiment + tracking.OPERATIONS_SUFFIX, Path(artifact_root), f"promote {name} v{challenger}",
        params={"model": name, "challenger_version": challenger, "champion_version": champion or "none",
                "decision": verdict, "min_akut_recall": config.promotion.min_akut_recall,
                "max_topic_f1_drop": config.promotion.max_topic_f1_drop,
                "feedback_source": outcome.get("feedback_source", NO_FEEDBACK),
                "feedback_cases": outcome.get("feedback_cases", 0)},
        metrics=outcome["metrics"], tags={"operation": "promotion", "promotion_reason": outcome["reason"][:5000]},
        texts={"promotion.md": decision_markdown(outcome)},
    )


def decision_markdown(outcome: dict) -> str:
    verdict = "promoted" if outcome["promote"] else "kept the champion"
    lines = [f"# Promotion of {outcome['model']} version {outcome['challenger']}: {verdict}", "",
             f"Champion before: {outcome['champion'] or 'none'}.", "", outcome["reason"], ""]
    lines += [f"- {check}" for check in outcome["checks"]]
    return "\n".join(lines) + "\n"


@flow(name="promote")
def promote_flow(config_dir: str, tracking_uri: str, artifact_root: str, feedback_path: str | None = None) -> dict:
    outcome = compare_challenger(config_dir, tracking_uri, feedback_path)
    if outcome.get("skipped"):
        get_run_logger().info("nothing to promote: %s", outcome["skipped"])
        return outcome
    outcome["run_id"] = record_decision(config_dir, tracking_uri, artifact_root, outcome)
    create_markdown_artifact(decision_markdown(outcome), key="promotion", description="champion/challenger decision")
    get_run_logger().info("%s", outcome["reason"])
    return outcome
