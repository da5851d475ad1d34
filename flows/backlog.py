"""Backlog flow: classify a large JSON Lines backlog in chunks, in parallel on a Dask cluster through Prefect's
Dask task runner (or on Prefect's default runner). Chunks are files: a task gets paths and a model URI, never a
live model, so any worker that can read the paths and the MLflow store can score any chunk."""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from pathlib import Path

from prefect import Flow, flow, get_run_logger, task
from prefect.tasks import exponential_backoff

from models import tracking
from models.base import InquiryClassifier
from models.batch import classify_lines
from pipeline.config import load_taxonomy, load_tenant


@lru_cache(maxsize=4)
def _classifier(tracking_uri: str, model_uri: str) -> InquiryClassifier:
    # One load per worker process and model version, not one per chunk.
    tracking.configure_uri(tracking_uri)
    return tracking.load_classifier(model_uri)


@task
def split_backlog(input_path: str, work_dir: str, chunk_lines: int) -> list[tuple[str, int]]:
    """Cut the input into chunk files; returns each chunk's path and the input line number it starts at."""
    chunks = []
    with open(input_path, encoding="utf-8") as source:
        lines = (line.rstrip("\n") for line in source)
        first = 1
        while batch := list(islice(lines, chunk_lines)):
            path = Path(work_dir) / f"chunk-{len(chunks):06d}.jsonl"
            path.write_text("\n".join(batch) + "\n", encoding="utf-8")
            chunks.append((str(path), first))
            first += len(batch)
    return chunks


@task(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=2))
def score_chunk(chunk_path: str, first_line: int, model_uri: str, tracking_uri: str, config_dir: str, tenant: str,
                now: str) -> str:
    """Classify one chunk file into `<chunk>.out`; error lines keep their line number in the whole input.
    Rewrites its output from scratch, so a retry or a second worker on the same chunk does no harm."""
    taxonomy = load_taxonomy(Path(config_dir))
    tenant_config = load_tenant(Path(config_dir), tenant, taxonomy)
    classifier = _classifier(tracking_uri, model_uri)
    out_path = Path(chunk_path).with_suffix(".out")
    lines = Path(chunk_path).read_text(encoding="utf-8").splitlines()
    with out_path.open("w", encoding="utf-8") as sink:
        for record in classify_lines(lines, classifier, tenant_config, datetime.fromisoformat(now)):
            if "line" in record:
                record["line"] += first_line - 1
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
    return str(out_path)


@flow(name="score-backlog")
def score_backlog_flow(input_path: str, output_path: str, model_uri: str, tracking_uri: str, config_dir: str,
                       tenant: str, chunk_lines: int = 2000, now: str | None = None) -> dict:
    """Score every line of `input_path` into `output_path`, in input order, with one model version throughout."""
    tracking.configure_uri(tracking_uri)
    # An alias is resolved once, so that every chunk is scored by the same version even if the alias moves.
    version = tracking.load_classifier(model_uri).version
    pinned = f"models:/{version}" if "@" in model_uri else model_uri
    stamp = now or datetime.now(UTC).isoformat()
    with tempfile.TemporaryDirectory(dir=Path(output_path).resolve().parent) as work_dir:
        chunks = split_backlog(input_path, work_dir, chunk_lines)
        futures = [score_chunk.submit(path, first, pinned, tracking_uri, config_dir, tenant, stamp)
                   for path, first in chunks]
        outputs = [future.result() for future in futures]
        lines = bad = 0
        with open(output_path, "w", encoding="utf-8") as sink:
            for out in outputs:
                for line in Path(out).read_text(encoding="utf-8").splitlines(keepends=True):
                    sink.write(line)
                    lines += 1
                    bad += line.startswith('{"line"')
    get_run_logger().info("scored %d lines in %d chunks with %s (%d bad lines)", lines, len(chunks), version, bad)
    return {"lines": lines, "bad_lines": bad, "chunks": len(chunks), "model_version": version}


def on_dask(backlog_flow: Flow, address: str | None = None, workers: int = 2, processes: bool = True) -> Flow:
    """The flow with Prefect's Dask task runner: on the cluster at `address`, or on a local cluster it starts."""
    from prefect_dask import DaskTaskRunner

    if address:
        runner = DaskTaskRunner(address=address)
    else:
        runner = DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": processes,
                                                "silence_logs": logging.WARNING, "dashboard_address": None})
    return backlog_flow.with_options(task_runner=runner)
