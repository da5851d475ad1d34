"""Benchmark: one registered e5 model served in different precisions and lengths, side by side (prints figures).

Run: .venv/bin/python bench/bench_serving.py [--model URI] [--single 200]

Default model: the champion. For each serving option (fp32, int8, int8 with fp32 feed-forward outputs, bf16;
256 or 128 tokens) the same trained model is loaded afresh and scored on the dev split with its decision policy
switched off, so that only the encoder's arithmetic differs: dev topic and urgency macro-F1, batch throughput
over the test split, and one-inquiry latency p50/p95. This is how the serving defaults in
configs/training.yaml were chosen (dev, never test). bf16 is fast only on CPUs with native bf16 (AMX).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from models.encoder import FFN_OUTPUT
from models.evaluate import evaluate_items
from models.tracking import configure_uri, encoders_of, load_classifier
from models.train import as_inquiry_texts
from pipeline.config import Settings, load_training
from pipeline.corpus import load_split

OPTIONS = {
    "fp32, 256 tokens": {"quantize": False, "bfloat16": False, "max_length": 256},
    "int8, 256 tokens": {"quantize": True, "bfloat16": False, "max_length": 256},
    "int8 + fp32 FFN out, 256": {"quantize": True, "keep_fp32": FFN_OUTPUT, "bfloat16": False, "max_length": 256},
    "bf16, 256 tokens": {"quantize": False, "bfloat16": True, "max_length": 256},
    "bf16, 128 tokens": {"quantize": False, "bfloat16": True, "max_length": 128},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="Model URI; default the champion.")
    parser.add_argument("--single", type=int, default=200)
    args = parser.parse_args()
    settings = Settings()
    config = load_training(settings.config_dir)
    configure_uri(settings.tracking_uri)
    uri = args.model or f"models:/{config.registered_model}@champion"
    dev = load_split(config.corpus_path(), "dev")
    test = as_inquiry_texts(load_split(config.corpus_path(), "test"))
    print(f"model {uri}, load average before {os.getloadavg()[0]:.2f} (2 cores)")
    print(f"{'serving':<26}{'dev topic F1':>13}{'dev urgency F1':>15}{'batch/s':>9}{'p50_ms':>8}{'p95_ms':>8}")
    for name, options in OPTIONS.items():
        classifier = load_classifier(uri)
        classifier.policy = None
        for encoder in encoders_of(classifier):
            for option, value in options.items():
                setattr(encoder, option, value)
        metrics = evaluate_items(dev, classifier.predict(as_inquiry_texts(dev)))
        started = time.perf_counter()
        classifier.predict(test)
        per_s = len(test) / (time.perf_counter() - started)
        latencies = []
        for inquiry in test[:args.single]:
            started = time.perf_counter()
            classifier.predict([inquiry])
            latencies.append(1000 * (time.perf_counter() - started))
        print(f"{name:<26}{metrics['topic_macro_f1']:>13.3f}{metrics['urgency_macro_f1']:>15.3f}{per_s:>9.1f}"
              f"{np.percentile(latencies, 50):>8.1f}{np.percentile(latencies, 95):>8.1f}")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
