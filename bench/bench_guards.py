"""How the guards against unfamiliar text trade coverage for precision, on written and on real text.

Trains one model kind on a corpus folder (a finished e5 fine-tune in the model cache is reused), fits the decision
policy on its dev split as training does, and then scores every guard setting side by side on dev, test and each
external set: topic accuracy, the share routed without a person, the topic precision of those, and topic ECE.
The guard settings are the share of dev text whose familiarity sets the floor (`unfamiliar_quantile`) and review
on ensemble member disagreement. The real sets choose the setting; nothing here fits on them.

    .venv/bin/python bench/bench_guards.py --kind ensemble
    .venv/bin/python bench/bench_guards.py --external old_test=/tmp/old/corpus/test.jsonl   # one more set to score
    TRIAGE_CONFIG_DIR=/tmp/old/configs .venv/bin/python bench/bench_guards.py --corpus-dir /tmp/old/corpus \
        --external realtext=data/external/realtext_labelled.jsonl       # an older recipe and corpus (README)
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from models.calibration import fit_policy
from models.evaluate import routing_metrics
from models.familiarity import FamiliarityIndex
from models.train import evaluation_sets, fit_model, prepared_texts
from pipeline.config import Settings, load_taxonomy, load_training
from pipeline.corpus import load_split
from pipeline.domain import Prediction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="ensemble")
    parser.add_argument("--corpus-dir", type=Path, default=None, help="default: the corpus of configs/training.yaml")
    parser.add_argument("--quantiles", default="0,0.02,0.05,0.1")
    parser.add_argument("--external", action="append", default=[], metavar="NAME=PATH",
                        help="one more labelled set to score (corpus JSON Lines, or a real set with its text cache)")
    args = parser.parse_args()

    settings = Settings()
    config = load_training(settings.config_dir).model_copy(update={"model_kind": args.kind})
    if args.corpus_dir is not None:
        config = config.model_copy(update={"corpus_dir": args.corpus_dir.resolve()})
    train = load_split(config.corpus_path(), "train")
    extra = dict(spec.split("=", 1) for spec in args.external)
    config = config.model_copy(update={"external_sets": {**config.external_sets,
                                                         **{name: Path(path).resolve() for name, path in extra.items()}}})
    sets, missing = evaluation_sets(config)
    started = time.perf_counter()
    model = fit_model(config, train, settings.model_cache, dev=sets["dev"], taxonomy=load_taxonomy(settings.config_dir))
    print(f"kind {args.kind}, corpus {config.corpus_path()}, train {len(train)}, fit {time.perf_counter() - started:.0f} s; "
          f"CPUs {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; texts missing: {missing or 'none'}")

    familiarity = FamiliarityIndex().fit(prepared_texts(train))
    outputs = {}
    for name, items in sets.items():
        texts = prepared_texts(items)
        per_member = model.predict_member_proba(texts) if hasattr(model, "predict_member_proba") \
            else [model.predict_proba(texts)]
        topic = sum(p for p, _ in per_member) / len(per_member)
        urgency = sum(u for _, u in per_member) / len(per_member)
        outputs[name] = (topic, urgency, np.stack([np.argmax(p, axis=1) for p, _ in per_member]),
                         familiarity.similarity(texts), [i.topic for i in items])

    print("\n| set | n | topic macro-F1 | topic accuracy (argmax) |\n|---|---|---|---|")
    for name, (topic, _, _, _, truth) in outputs.items():
        predicted = [model.topic_labels[k] for k in np.argmax(topic, axis=1)]
        print(f"| {name} | {len(truth)} | {f1_score(truth, predicted, average='macro', zero_division=0):.3f} | "
              f"{np.mean([p == t for p, t in zip(predicted, truth, strict=True)]):.3f} |")

    dev_topic, dev_urgency, _, dev_familiarity, _ = outputs["dev"]
    policy, _ = fit_policy(dev_topic, [i.topic for i in sets["dev"]], dev_urgency, [i.urgency for i in sets["dev"]],
                           model.topic_labels, model.urgency_labels, target_precision=config.policy.target_precision,
                           target_recall=config.policy.akut_target_recall, method=config.policy.calibration,
                           min_support=config.policy.threshold_min_support)
    settings_to_try = [(q, disagree) for q in [float(v) for v in args.quantiles.split(",")] for disagree in (False, True)]
    print("\n| unfamiliar_quantile | member disagreement | " + " | ".join(
        f"{name}: accuracy / auto share / auto precision / ECE" for name in outputs) + " |")
    print("|---|---|" + "---|" * len(outputs))
    for quantile, disagree in settings_to_try:
        guarded = replace(policy, min_familiarity=float(np.quantile(dev_familiarity, quantile)) if quantile else None,
                          review_on_member_disagreement=disagree)
        cells = []
        for topic, urgency, members, similarity, truth in outputs.values():
            decisions = guarded.decide(topic, urgency, familiarity=similarity, member_topics=members)
            predictions = [Prediction(topic=d.topic, urgency=d.urgency, topic_probabilities=d.topic_probabilities,
                                      urgency_probabilities=d.urgency_probabilities, model_version="bench",
                                      needs_review=d.needs_review) for d in decisions]
            figures = routing_metrics(predictions, truth)
            accuracy = float(np.mean([p.topic == t for p, t in zip(predictions, truth, strict=True)]))
            cells.append(f"{accuracy:.3f} / {figures['auto_share']:.3f} / {figures.get('auto_precision', float('nan')):.3f}"
                         f" / {figures['topic_ece']:.3f}")
        print(f"| {quantile:g} | {'yes' if disagree else 'no'} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
