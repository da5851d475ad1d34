"""Benchmark: the case handlers' REST API on SQLite and on PostgreSQL, side by side in one run (prints figures).

Run: .venv/bin/python bench/bench_queue_api.py [--cases 2000] [--clients 4] [--seconds 8]

For each backend it seeds the same routed cases (test-split texts, the Solvik tenant), starts the app with
uvicorn (one worker process) on a loopback port, and drives it from this process with concurrent HTTP clients:
- listing: GET /api/my-queue?limit=50 for a fixed time (a handler opening their queue);
- claiming: POST /api/queues/<queue>/claim-next until the queue is empty, each client signed in as its own
  handler; afterwards it checks that no case was handed out twice.
The server and the clients share the machine's cores, as they would on a 2-core box. PostgreSQL is the local
server (TRIAGE_TEST_POSTGRES, default postgresql://postgres@127.0.0.1:5432/postgres); a scratch database is
created and dropped."""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

from pipeline.config import REPO_ROOT, Settings, load_taxonomy, load_tenant
from pipeline.corpus import load_split
from pipeline.domain import Channel, Prediction
from pipeline.ingest import build_message
from pipeline.routing import route
from pipeline.store import open_store
from pipeline.users import UserDirectory

PASSWORD = "bench-password-123"
CLAIM_QUEUE = "teknik"
RECEIVED_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
POSTGRES_ADMIN = os.environ.get("TRIAGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass
class Figures:
    list_rps: float
    list_p50_ms: float
    list_p95_ms: float
    claims: int
    claim_rps: float
    claim_p95_ms: float
    duplicates: int


def seed(url: str, n_cases: int, n_clients: int) -> None:
    settings = Settings()
    tenant = load_tenant(settings.config_dir, "solvik", load_taxonomy(settings.config_dir))
    mapping = tenant.mapping_at(RECEIVED_AT)
    teknik_topics = [t for t, q in mapping.topics.items() if q == CLAIM_QUEUE]
    texts = load_split(REPO_ROOT / "data" / "corpus", "test")
    rng = random.Random(7)
    store = open_store(url)
    messages = []
    for n in range(n_cases):
        item = texts[n % len(texts)]
        messages.append(build_message(source="bench", external_id=f"<bench{n}@x>", channel=Channel(item.channel),
                                      received_at=RECEIVED_AT, sender="x@example.se", subject=item.subject,
                                      body=item.body, raw_ref=f"bench/{n}"))
    store.add_messages(messages)
    for n, message in enumerate(messages):
        # Half the cases land in the claimed queue, the rest spread over the tenant's other topics.
        topic = rng.choice(teknik_topics) if n % 2 == 0 else rng.choice(list(mapping.topics))
        urgency = rng.choice(["akut", "hog", "normal", "normal", "lag"])
        guess = Prediction(topic=topic, urgency=urgency, topic_probabilities={topic: 0.9, "kommun_allmant": 0.1},
                           urgency_probabilities={urgency: 0.8}, model_version="bench/1")
        store.record_routing(message.inquiry.id, guess, route(guess, tenant, message.inquiry.received_at))
    directory = UserDirectory(store.engine, tenant)
    for i in range(n_clients):
        directory.add(f"handler{i}", PASSWORD, CLAIM_QUEUE, "handlaggare")
    store.dispose()


def serve(url: str, port: int) -> None:
    """The server side (run in a child process): the app over `url` with uvicorn, one worker."""
    import uvicorn

    from pipeline.web.app import WebConfig, create_app

    settings = Settings()
    tenant = load_tenant(settings.config_dir, "solvik", load_taxonomy(settings.config_dir))
    uvicorn.run(create_app(WebConfig(store_url=url, tenant=tenant)), host="127.0.0.1", port=port, log_level="warning",
                access_log=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def signed_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    client.post("/api/session", json={"username": username, "password": PASSWORD}).raise_for_status()
    return client


def run_clients(clients: list[httpx.Client], work: Callable[[httpx.Client, list[float]], bool],
                seconds: float | None) -> tuple[float, list[float]]:
    """Each client repeats `work` (which returns False to stop) until time runs out; returns wall time and latencies."""
    latencies: list[list[float]] = [[] for _ in clients]
    deadline = time.perf_counter() + seconds if seconds else float("inf")

    def loop(i: int) -> None:
        while time.perf_counter() < deadline and work(clients[i], latencies[i]):
            pass

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(len(clients))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, [x for lat in latencies for x in lat]


def measure(url: str, n_cases: int, n_clients: int, seconds: float) -> Figures:
    seed(url, n_cases, n_clients)
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", url, "--port", str(port)],
                              env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/openapi.json", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        clients = [signed_in(base, f"handler{i}") for i in range(n_clients)]

        def list_queue(client: httpx.Client, latencies: list[float]) -> bool:
            started = time.perf_counter()
            client.get("/api/my-queue", params={"limit": 50}).raise_for_status()
            latencies.append(time.perf_counter() - started)
            return True

        list_wall, list_lat = run_clients(clients, list_queue, seconds)
        claimed: list[str] = []

        def claim(client: httpx.Client, latencies: list[float]) -> bool:
            started = time.perf_counter()
            response = client.post(f"/api/queues/{CLAIM_QUEUE}/claim-next")
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)
            if response.status_code == 204:
                return False
            claimed.append(response.json()["id"])
            return True

        claim_wall, claim_lat = run_clients(clients, claim, None)
        for client in clients:
            client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    quantiles = statistics.quantiles(list_lat, n=20)
    return Figures(list_rps=len(list_lat) / list_wall, list_p50_ms=statistics.median(list_lat) * 1000,
                   list_p95_ms=quantiles[18] * 1000, claims=len(claimed), claim_rps=len(claimed) / claim_wall,
                   claim_p95_ms=statistics.quantiles(claim_lat, n=20)[18] * 1000,
                   duplicates=len(claimed) - len(set(claimed)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return

    results: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory() as scratch:
        print(f"seeding {args.cases} cases and timing the API with {args.clients} clients on {os.cpu_count()} cores…",
              file=sys.stderr)
        results["sqlite"] = measure(f"sqlite:///{Path(scratch) / 'cases.db'}", args.cases, args.clients, args.seconds)
    name = f"triage_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        results["postgresql"] = measure(f"{base}/{name}", args.cases, args.clients, args.seconds)
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    sqlite, postgres = results["sqlite"], results["postgresql"]
    print(f"{'':<28}{'SQLite':>12}{'PostgreSQL':>12}{'PG/SQLite':>11}")
    rows = [("list my queue (req/s)", "list_rps"), ("  p50 latency (ms)", "list_p50_ms"),
            ("  p95 latency (ms)", "list_p95_ms"), ("claim-next (claims/s)", "claim_rps"),
            ("  p95 latency (ms)", "claim_p95_ms")]
    for label, attribute in rows:
        a, b = getattr(sqlite, attribute), getattr(postgres, attribute)
        print(f"{label:<28}{a:>12.1f}{b:>12.1f}{b / a:>10.2f}×")
    print(f"{'cases claimed / duplicates':<28}{f'{sqlite.claims}/{sqlite.duplicates}':>12}"
          f"{f'{postgres.claims}/{postgres.duplicates}':>12}")


if __name__ == "__main__":
    main()
