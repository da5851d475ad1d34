"""Benchmark: every registered model kind side by side, as it is served (prints figures).

Run: .venv/bin/python bench/bench_models.py [--single 200] [--model KIND=URI ...]

By default the newest registered version of each model kind in the MLflow registry of TRIAGE_DATA_DIR (see
README: `triage train --kind ...` registers one). Each model runs in a fresh process, one after the other, so
that peak memory is its own: load time, batch throughput over the whole test split (506 inquiries, as
`triage classify` sends them: one call), single-inquiry latency p50/p95 over --single test inquiries, peak
RSS, and the training time its run logged. The load average is printed: other processes move these figures.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import time

import numpy as np


def measure(uri: str, single: int) -> dict[str, float]:
    from models.base import InquiryText
    from models.tracking import configure_uri, load_classifier
    from pipeline.config import Settings, load_training
    from pipeline.corpus import load_split

    settings = Settings()
    configure_uri(settings.tracking_uri)
    test = load_split(load_training(settings.config_dir).corpus_path(), "test")
    inquiries = [InquiryText(i.channel, i.subject, i.body) for i in test]
    started = time.perf_counter()
    classifier = load_classifier(uri)
    classifier.predict(inquiries[:2])  # lazy loads (encoder weights, quantisation) belong to loading
    load_s = time.perf_counter() - started

    started = time.perf_counter()
    classifier.predict(inquiries)
    batch_s = time.perf_counter() - started
    latencies = []
    for inquiry in inquiries[:single]:
        started = time.perf_counter()
        classifier.predict([inquiry])
        latencies.append(time.perf_counter() - started)
    return {"load_s": load_s, "per_s": len(inquiries) / batch_s, "p50_ms": 1000 * float(np.percentile(latencies, 50)),
            "p95_ms": 1000 * float(np.percentile(latencies, 95)),
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def newest_by_kind() -> dict[str, tuple[str, float]]:
    """{kind: (model URI, training seconds)} of the newest registered version of each kind."""
    from mlflow.tracking import MlflowClient

    from models.tracking import configure_uri
    from pipeline.config import Settings, load_training

    settings = Settings()
    configure_uri(settings.tracking_uri)
    client = MlflowClient()
    name = load_training(settings.config_dir).registered_model
    found: dict[str, tuple[str, float]] = {}
    for version in sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: -int(v.version)):
        run = client.get_run(version.run_id)
        kind = run.data.tags.get("model_kind", "?")
        if kind not in found:
            found[kind] = (f"models:/{name}/{version.version}", run.data.metrics.get("train_seconds", float("nan")))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--single", type=int, default=200)
    parser.add_argument("--model", action="append", default=[], help="KIND=URI; repeatable. Default: newest per kind.")
    args = parser.parse_args()
    models = {k: (u, float("nan")) for k, u in (m.split("=", 1) for m in args.model)} if args.model else newest_by_kind()
    if not models:
        raise SystemExit("no registered models: run `triage train --kind ...` first")
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
    print(f"{'kind':<20}{'model':<26}{'train_s':>9}{'load_s':>8}{'batch/s':>9}{'p50_ms':>8}{'p95_ms':>8}{'peak_MiB':>10}")
    context = multiprocessing.get_context("spawn")
    for kind, (uri, train_s) in models.items():
        with context.Pool(1) as pool:
            figures = pool.apply(measure, (uri, args.single))
        print(f"{kind:<20}{uri:<26}{train_s:>9.0f}{figures['load_s']:>8.1f}{figures['per_s']:>9.1f}"
              f"{figures['p50_ms']:>8.1f}{figures['p95_ms']:>8.1f}{figures['peak_mib']:>10.0f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
