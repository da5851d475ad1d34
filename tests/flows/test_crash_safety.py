"""Crash safety: the triage flow killed midway (SIGKILL, no clean-up) and run again routes every inquiry
exactly once: cases routed before the kill are left as they were, the rest are routed by the re-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.triage import triage_flow
from pipeline.config import REPO_ROOT
from pipeline.corpus import load_split
from pipeline.domain import Channel, Inquiry
from pipeline.store import CaseRow, StoredMessage, open_store
from tests.conftest import CONFIG_DIR, CORPUS_DIR
from tests.flows.conftest import TINY_MODEL

pytestmark = pytest.mark.slow
CASES = 600
RUN_TRIAGE = """
import sys
from flows.triage import triage_flow
triage_flow(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], "solvik")
"""


def _routed(store) -> dict[str, tuple]:
    with Session(store.engine) as session:
        rows = session.execute(select(CaseRow.id, CaseRow.updated_at, CaseRow.queue, CaseRow.model_version)
                               .where(CaseRow.state == "routed"))
        return {row.id: tuple(row[1:]) for row in rows}


def test_killed_triage_rerun_routes_every_case_exactly_once(prefect_harness, registered_tiny, tmp_path):
    from prefect.settings import PREFECT_API_URL

    store_url = f"sqlite:///{tmp_path / 'cases.db'}"
    store = open_store(store_url)
    items = (load_split(CORPUS_DIR, "test") + load_split(CORPUS_DIR, "dev"))[:CASES]
    store.add_messages(
        StoredMessage(Inquiry(id=f"c{n:04d}", source="test", channel=Channel(i.channel), received_at=datetime.now(UTC),
                              subject=i.subject, body=i.body),
                      external_id=f"e{n}", raw_sender=None, raw_subject=i.subject, raw_body=i.body)
        for n, i in enumerate(items))
    model_uri = f"models:/{TINY_MODEL}@champion"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PREFECT_API_URL": PREFECT_API_URL.value()}
    process = subprocess.Popen([sys.executable, "-c", RUN_TRIAGE, store_url, model_uri, registered_tiny, str(CONFIG_DIR)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Kill it as soon as routing is under way, without giving it any chance to finish or clean up.
    deadline = time.monotonic() + 180
    while process.poll() is None and time.monotonic() < deadline and store.count_by_state().get("routed", 0) < 20:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = _routed(store)
    assert 0 < len(before) < CASES, f"the kill missed ({len(before)} routed): {process.stderr.read()[-2000:]}"

    report = triage_flow(store_url, model_uri, registered_tiny, str(CONFIG_DIR), "solvik")
    assert report.routed == CASES - len(before)
    after = _routed(store)
    assert len(after) == CASES and store.count_by_state() == {"routed": CASES}
    assert {case_id: after[case_id] for case_id in before} == before  # nothing routed before was routed again

    again = triage_flow(store_url, model_uri, registered_tiny, str(CONFIG_DIR), "solvik")
    assert again.routed == 0 and _routed(store) == after
    store.dispose()
