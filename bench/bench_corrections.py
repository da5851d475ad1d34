"""Benchmark: the learning curve of the corrections loop (prints figures).

Run: .venv/bin/python bench/bench_corrections.py [--real PATH] [--kind tfidf] [--k 0,5,10,20] [--seeds 3]
For each k and seed, up to k inquiries per topic of a labelled real set play the handlers' corrections. A topic
with fewer than k+1 inquiries gives at most half of them, so every topic keeps some to score on. The corrections
join the corpus' train split through `merge_feedback` with the configured weight, as the train flow adds them.
The model is trained on that, its policy fitted on dev, and it is scored on the rest of the real set: topic
accuracy, auto_share (predictions with needs_review False) and auto_precision (topic precision of those). The
draws of one seed are cut from the same shuffle of each topic, so the smaller draw of a topic is part of the
larger. On a small real set a large k takes at most half of most topics, so it can draw fewer than a smaller k.
`base acc` is the k=0 model on the same rest, so `gain` is what the corrections added."""

from __future__ import annotations

import argparse
import os
import random
import shlex
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from models.base import InquiryClassifier, InquiryText
from models.train import build_classifier, fit_model
from pipeline.config import MODEL_KINDS, Settings, TrainingConfig, load_taxonomy, load_training
from pipeline.corpus import CorpusError, CorpusItem, text_key
from pipeline.corpus import load_split as corpus_split
from pipeline.external import load_external
from pipeline.feedback import merge_feedback
from pipeline.red_flags import RedFlagMatcher, load_red_flags


@dataclass(frozen=True)
class Score:
    n: int
    accuracy: float
    auto_share: float
    auto_precision: float  # nan when nothing was routed automatically


def draw(items: list[CorpusItem], k: int, seed: int) -> list[CorpusItem]:
    """Up to k items per topic (a topic with fewer than k+1 gives at most half of its items), cut from one
    shuffle of each topic per seed."""
    rng = random.Random(seed)
    by_topic: dict[str, list[CorpusItem]] = defaultdict(list)
    for item in items:
        by_topic[item.topic].append(item)
    drawn: list[CorpusItem] = []
    for topic in sorted(by_topic):
        group = by_topic[topic][:]
        rng.shuffle(group)
        take = k if len(group) >= k + 1 else min(k, len(group) // 2)
        drawn += group[:take]
    return drawn


def score(classifier: InquiryClassifier, items: list[CorpusItem]) -> Score:
    predictions = classifier.predict([InquiryText(i.channel, i.subject, i.body) for i in items])
    right = [p.topic == i.topic for p, i in zip(predictions, items, strict=True)]
    auto = [ok for p, ok in zip(predictions, right, strict=True) if not p.needs_review]
    return Score(n=len(items), accuracy=sum(right) / len(items), auto_share=len(auto) / len(items),
                 auto_precision=sum(auto) / len(auto) if auto else float("nan"))


def spread(values: list[float]) -> str:
    values = [v for v in values if v == v]  # drop nan
    if not values:
        return "n/a"
    mean = statistics.fmean(values)
    return f"{mean:.3f} ({min(values):.3f}-{max(values):.3f})" if len(values) > 1 else f"{mean:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=Path, default=Path("data/external/realtext_labelled.jsonl"))
    parser.add_argument("--kind", default="tfidf", choices=MODEL_KINDS)
    parser.add_argument("--k", default="0,5,10,20", help="corrections per topic, comma-separated")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    ks = sorted({int(k) for k in args.k.split(",")})
    if min(ks) < 0 or args.seeds < 1:
        parser.error("k must be >= 0 and --seeds >= 1")

    settings = Settings()
    config: TrainingConfig = load_training(settings.config_dir).model_copy(update={"model_kind": args.kind})
    taxonomy = load_taxonomy(settings.config_dir)
    red_flags = RedFlagMatcher.from_config(load_red_flags(settings.config_dir))
    corpus = config.corpus_path()
    train, dev, test = (corpus_split(corpus, split) for split in ("train", "dev", "test"))
    try:
        real = load_external(args.real)
    except CorpusError as exc:
        sys.exit(f"{exc}\nGive a labelled real set with --real (data/external/swefaq_labelled.jsonl is committed).")
    if not real.items:
        sys.exit(f"{args.real}: no item has its text ({real.missing} missing; see pipeline/external.py)")
    weight = config.feedback.weight
    load_before = os.getloadavg()
    started = time.perf_counter()

    def trained_on(corrections: list[CorpusItem]) -> tuple[InquiryClassifier, int]:
        merge = merge_feedback(train, corrections, dev + test, weight=weight)
        model = fit_model(config, merge.train, settings.model_cache, dev=dev, taxonomy=taxonomy)
        classifier, _ = build_classifier(config, model, merge.train, dev, red_flags)
        return classifier, merge.held_out_overlap

    base, _ = trained_on([])
    rows: dict[int, list[tuple[int, int, Score, Score]]] = defaultdict(list)
    for seed in range(args.seeds):
        for k in ks:
            corrections = draw(real.items, k, seed)
            keys = {text_key(i.subject, i.body) for i in corrections}
            rest = [i for i in real.items if text_key(i.subject, i.body) not in keys]
            classifier, overlap = trained_on(corrections) if corrections else (base, 0)
            rows[k].append((len(corrections), overlap, score(classifier, rest), score(base, rest)))
            print(f"  seed {seed} k {k}: {len(corrections)} corrections, scored on {len(rest)}", file=sys.stderr)

    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"cpus: {os.cpu_count()}, load average before {load_before[0]:.1f} / after {os.getloadavg()[0]:.1f}, "
          f"{time.perf_counter() - started:.0f} s in all")
    print(f"real set: {args.real} ({len(real.items)} with text, {real.missing} missing), kind {args.kind}, "
          f"weight {weight}, {args.seeds} seed(s); mean (min-max) over seeds")
    print()
    print("| k/topic | corrections | scored on | topic accuracy | base acc | gain | auto_share | auto_precision |")
    print("|---|---|---|---|---|---|---|---|")
    for k in ks:
        runs = rows[k]
        drawn = statistics.fmean(r[0] for r in runs)
        overlap = statistics.fmean(r[1] for r in runs)
        scored = statistics.fmean(r[2].n for r in runs)
        gains = [r[2].accuracy - r[3].accuracy for r in runs]
        print(f"| {k} | {drawn:.0f}{f' ({overlap:.1f} in dev/test, left out)' if overlap else ''} | {scored:.0f} | "
              f"{spread([r[2].accuracy for r in runs])} | {spread([r[3].accuracy for r in runs])} | "
              f"{statistics.fmean(gains):+.3f} | {spread([r[2].auto_share for r in runs])} | "
              f"{spread([r[2].auto_precision for r in runs])} |")


if __name__ == "__main__":
    main()
