"""Benchmark: `triage classify`'s batch path against classifying one inquiry at a time (prints figures).

Run: .venv/bin/python bench/bench_classify.py [--n 1000]
Trains the baseline (tfidf) on the train split (not timed), then classifies n test-split inquiries
(cycled) both ways, side by side in one run."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime

from models.base import InquiryClassifier, InquiryText
from models.batch import classify_lines
from models.train import fit_model
from pipeline.config import Settings, load_taxonomy, load_tenant, load_training
from pipeline.corpus import load_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    settings = Settings()
    config = load_training(settings.config_dir).model_copy(update={"model_kind": "tfidf"})  # see bench_models.py
    tenant = load_tenant(settings.config_dir, settings.tenant, load_taxonomy(settings.config_dir))
    classifier = InquiryClassifier(fit_model(config, load_split(config.corpus_path(), "train")), version="bench")
    test = load_split(config.corpus_path(), "test")
    items = [test[n % len(test)] for n in range(args.n)]
    lines = [json.dumps({"id": str(n), "channel": i.channel, "subject": i.subject, "body": i.body})
             for n, i in enumerate(items)]
    now = datetime.now(UTC)

    started = time.perf_counter()
    batch_out = list(classify_lines(lines, classifier, tenant, now))
    batch_s = time.perf_counter() - started

    started = time.perf_counter()
    single_out = [classifier.predict([InquiryText(i.channel, i.subject, i.body)])[0] for i in items]
    single_s = time.perf_counter() - started

    assert [r["topic"] for r in batch_out] == [p.topic for p in single_out]
    print(f"inquiries: {args.n} (test split, cycled), model: {config.model_kind}")
    print(f"batch (triage classify path): {batch_s:.2f} s, {args.n / batch_s:.0f} inquiries/s")
    print(f"one at a time:                {single_s:.2f} s, {args.n / single_s:.0f} inquiries/s")
    print(f"ratio batch/one-at-a-time:    {single_s / batch_s:.1f}x")


if __name__ == "__main__":
    main()
