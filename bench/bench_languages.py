"""Inquiries in other languages than Swedish: is the urgent one ever at the bottom of the queue, and is any of them
auto-routed to the wrong department? Per language, on the written behavioural set data/languages/behaviour.jsonl.

Scores one classifier three ways side by side, all else equal: without the language guard and with red flags in
Swedish and English only (the product before it read other languages), with the language guard, and with the
guard and the red flags in every language (today's product). Per language: n, language named right, akut cases,
akut given at least `hog` and given `akut`, cases auto-routed, of those routed to a wrong department (tenant
mapping), and topic accuracy; and how many akut mails the red flags alone raise to akut. The set is never trained
or tuned on.

    .venv/bin/python bench/bench_languages.py                                   # trains the configured kind
    .venv/bin/python bench/bench_languages.py --kind tfidf                      # a quick one
    .venv/bin/python bench/bench_languages.py --model-uri models:/kommun-triage@champion
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from models.base import InquiryClassifier, InquiryText
from models.train import build_classifier, evaluation_sets, fit_model
from pipeline.config import REPO_ROOT, Settings, load_taxonomy, load_tenant, load_training
from pipeline.corpus import load_split
from pipeline.language import detect_language
from pipeline.red_flags import RedFlagConfig, RedFlagMatcher, load_red_flags
from pipeline.routing import route

BEHAVIOUR_SET = REPO_ROOT / "data" / "languages" / "behaviour.jsonl"
AT_LEAST_HOG = ("akut", "hog")


def _classifier(args: argparse.Namespace, settings: Settings, red_flags: RedFlagMatcher) -> InquiryClassifier:
    if args.model_uri:
        from models import tracking

        tracking.configure_uri(settings.tracking_uri)
        return tracking.load_classifier(args.model_uri)
    config = load_training(settings.config_dir)
    config = config.model_copy(update={"model_kind": args.kind or config.model_kind})
    train = load_split(config.corpus_path(), "train")
    dev = evaluation_sets(config)[0]["dev"]
    started = time.perf_counter()
    model = fit_model(config, train, settings.model_cache, dev=dev, taxonomy=load_taxonomy(settings.config_dir))
    print(f"kind {config.model_kind}: fit {time.perf_counter() - started:.0f} s on {os.cpu_count()} CPUs")
    return build_classifier(config, model, train, dev, red_flags)[0]


def _only(config: RedFlagConfig, languages: set[str]) -> RedFlagMatcher:
    rules = [rule.model_copy(update={"patterns": {k: v for k, v in rule.patterns.items() if k in languages}})
             for rule in config.rules]
    return RedFlagMatcher(config.model_copy(update={"rules": rules}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default=None, help="model kind to train (default: configs/training.yaml)")
    parser.add_argument("--model-uri", default=None, help="score a registered model instead of training one")
    parser.add_argument("--set", type=Path, default=BEHAVIOUR_SET)
    args = parser.parse_args()

    settings = Settings()
    taxonomy = load_taxonomy(settings.config_dir)
    tenant = load_tenant(settings.config_dir, settings.tenant, taxonomy)
    rules = load_red_flags(settings.config_dir)
    classifier = _classifier(args, settings, RedFlagMatcher(rules))
    items = [json.loads(line) for line in args.set.read_text(encoding="utf-8").splitlines() if line.strip()]
    inquiries = [InquiryText(i["channel"], i["subject"], i["body"]) for i in items]
    now = datetime(2026, 3, 3, 10, tzinfo=UTC)  # a Tuesday morning: office hours, today's mapping

    variants = {
        "before (no language guard, sv/en red flags)": replace(
            classifier, policy=replace(classifier.policy, served_languages=None), red_flags=_only(rules, {"sv", "en"})),
        "language guard, sv/en red flags": replace(classifier, red_flags=_only(rules, {"sv", "en"})),
        "language guard, red flags in every language (now)": classifier,
    }
    detected = [detect_language(f"{i['subject'] or ''}\n{i['body']}") for i in items]
    print(f"set {args.set} ({len(items)} items); model {classifier.version}; tenant {tenant.tenant}")
    # The rules on their own, whatever the model says: how many akut mails they raise to akut, and how many others.
    matcher = RedFlagMatcher(rules)
    raised = [any(hit.raise_to == "akut" for hit in matcher.scan(f"{i['subject'] or ''}\n{i['body']}")) for i in items]
    akut = [i["urgency"] == "akut" for i in items]
    print(f"red flags alone: {sum(r and a for r, a in zip(raised, akut, strict=True))} of {sum(akut)} akut mails "
          f"raised to akut; {sum(r and not a for r, a in zip(raised, akut, strict=True))} of "
          f"{len(items) - sum(akut)} others")
    for name, variant in variants.items():
        started = time.perf_counter()
        predictions = variant.predict(inquiries)
        seconds = time.perf_counter() - started
        rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for item, prediction, language in zip(items, predictions, detected, strict=True):
            decision = route(prediction, tenant, now, f"{item['subject'] or ''}\n{item['body']}")
            gold_department = tenant.department_of(tenant.mapping_at(now).topics[item["topic"]])
            for key in (item["lang"], "all"):
                row = rows[key]
                row["n"] += 1
                row["named"] += language == item["lang"]
                row["akut"] += item["urgency"] == "akut"
                row["akut_hog"] += item["urgency"] == "akut" and prediction.urgency in AT_LEAST_HOG
                row["akut_akut"] += item["urgency"] == "akut" and prediction.urgency == "akut"
                row["auto"] += not decision.needs_review
                row["auto_wrong"] += not decision.needs_review and decision.department != gold_department
                row["topic_right"] += prediction.topic == item["topic"]
        print(f"\n### {name} ({seconds:.1f} s)\n")
        print("| language | n | language named | akut | akut at >= hog | akut at akut | auto-routed | "
              "auto-routed to a wrong department | topic accuracy |\n|---|---|---|---|---|---|---|---|---|")
        for key in sorted(rows, key=lambda k: (k == "all", k)):
            r = rows[key]
            print(f"| {key} | {r['n']} | {r['named']} | {r['akut']} | {r['akut_hog']} | {r['akut_akut']} | {r['auto']} | "
                  f"{r['auto_wrong']} | {r['topic_right'] / r['n']:.2f} |")


if __name__ == "__main__":
    main()
