"""Backlog scoring on a local two-worker Dask cluster through Prefect's Dask task runner gives exactly the
single-process `triage classify` output, bad lines included, in input order."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from distributed import Client, LocalCluster, get_task_stream

from flows.backlog import on_dask, score_backlog_flow
from models import tracking
from models.batch import classify_lines
from pipeline.corpus import load_split
from tests.conftest import CONFIG_DIR, CORPUS_DIR

pytestmark = pytest.mark.slow
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_dask_backlog_matches_the_single_process_path(prefect_harness, registered_tiny, tenant, tmp_path):
    items = load_split(CORPUS_DIR, "test")[:300]
    lines = [json.dumps({"id": f"b{n}", "channel": i.channel, "subject": i.subject, "body": i.body}, ensure_ascii=False)
             for n, i in enumerate(items)]
    lines[7], lines[170] = "not json", json.dumps({"id": "x", "channel": "fax", "body": "hej"})
    source = tmp_path / "backlog.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    tracking.configure_uri(registered_tiny)
    classifier = tracking.load_classifier("models:/tiny-triage@champion")
    expected = [json.dumps(r, ensure_ascii=False) for r in classify_lines(lines, classifier, tenant, NOW)]

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client, get_task_stream(client) as stream:
        out = tmp_path / "scored.jsonl"
        summary = on_dask(score_backlog_flow, address=cluster.scheduler_address)(
            str(source), str(out), "models:/tiny-triage@champion", registered_tiny, str(CONFIG_DIR), "solvik",
            chunk_lines=40, now=NOW.isoformat())
    # The chunks really ran on the cluster, spread over both workers.
    assert len({task["worker"] for task in stream.data}) == 2
    assert summary == {"lines": 300, "bad_lines": 2, "chunks": 8, "model_version": "tiny-triage/1"}
    got = out.read_text(encoding="utf-8").splitlines()
    assert got == expected
    assert json.loads(got[7]) == {"line": 8, "error": json.loads(expected[7])["error"]}
    assert json.loads(got[170])["line"] == 171
