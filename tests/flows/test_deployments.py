"""Deployments and their schedules are built as documented, without serving anything."""

from typer.testing import CliRunner

from flows.cli import app
from flows.deployments import TIMEZONE, build_deployments
from pipeline.config import Settings

EXPECTED = {
    "ingest/ingest-mail": "*/5 * * * *",
    "ingest/ingest-calls": "*/5 * * * *",
    "triage/triage": "2-59/5 * * * *",
    "monitor/monitor": "0 6 * * *",
    "train/train": "0 2 * * *",
    "promote/promote": None,
    "score-backlog/score-backlog": None,
}


def test_every_flow_has_its_deployment_and_schedule(data_dir):
    settings = Settings()
    deployments = {f"{d.flow_name}/{d.name}": d for d in build_deployments(settings)}
    assert set(deployments) == set(EXPECTED)
    for key, cron in EXPECTED.items():
        schedules = deployments[key].schedules or []
        if cron is None:
            assert schedules == [], key
            continue
        assert [(s.schedule.cron, s.schedule.timezone) for s in schedules] == [(cron, TIMEZONE)], key
        assert all(s.active for s in schedules)
    # Task and flow inputs are paths, URIs and ids: every parameter is a plain string.
    for deployment in deployments.values():
        assert all(isinstance(value, str) for value in deployment.parameters.values()), deployment.name
    assert deployments["ingest/ingest-mail"].parameters["mail_dir"].endswith("inbox/mail")
    assert deployments["ingest/ingest-calls"].parameters["call_log"].endswith("inbox/calls.csv")
    assert deployments["triage/triage"].parameters["model_uri"] == "models:/kommun-triage@champion"
    assert deployments["train/train"].parameters["config_dir"] == str(settings.config_dir)


def test_serve_dry_run_lists_the_schedules(data_dir):
    result = CliRunner().invoke(app, ["flows", "serve", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "triage/triage" in result.output and "2-59/5 * * * * (Europe/Stockholm)" in result.output
    assert "promote/promote" in result.output and "on demand" in result.output


def test_deploy_to_a_process_work_pool_registers_schedules_on_the_server(prefect_harness, data_dir):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="triage-test-pool", type="process"), overwrite=True)
    missing = CliRunner().invoke(app, ["flows", "deploy", "--pool", "no-such-pool"])
    assert missing.exit_code == 2 and "work-pool create" in missing.output

    result = CliRunner().invoke(app, ["flows", "deploy", "--pool", "triage-test-pool"])
    assert result.exit_code == 0, result.output
    assert "registered 7 deployments" in result.output
    with get_client(sync_client=True) as client:
        triage = client.read_deployment_by_name("triage/triage")
        monitor = client.read_deployment_by_name("monitor/monitor")
    assert triage.work_pool_name == "triage-test-pool"
    assert triage.entrypoint == "flows.triage.triage_flow"  # workers import it; no code is shipped
    assert [(s.schedule.cron, s.schedule.timezone) for s in triage.schedules] == [("2-59/5 * * * *", TIMEZONE)]
    assert [(s.schedule.cron, s.schedule.timezone) for s in monitor.schedules] == [("0 6 * * *", TIMEZONE)]
    assert triage.parameters["model_uri"].endswith("@champion")
