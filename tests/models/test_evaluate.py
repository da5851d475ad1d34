"""Evaluation shared by every kind: routing figures and the genre slices of real text."""

from __future__ import annotations

import pytest

from models.evaluate import evaluate_items, genre_of, routing_metrics
from pipeline.corpus import CorpusItem
from pipeline.domain import Prediction


def _prediction(topic: str, confidence: float, needs_review: bool) -> Prediction:
    return Prediction(topic=topic, urgency="lag", topic_probabilities={topic: confidence, "annat": 1 - confidence},
                      urgency_probabilities={"lag": 1.0}, model_version="t/1", needs_review=needs_review)


def _item(n: int, topic: str, source: str) -> CorpusItem:
    return CorpusItem(id=f"i{n}", channel="email", subject=None, body="text", lang="sv", topic=topic, urgency="lag",
                      source=source)


def test_routing_metrics_count_only_what_is_routed_without_a_person():
    predictions = [_prediction("avfall", 0.95, False), _prediction("avfall", 0.95, False),
                   _prediction("park_natur", 0.55, True), _prediction("avfall", 0.95, False)]
    truth = ["avfall", "avfall", "park_natur", "gata_trafik"]
    figures = routing_metrics(predictions, truth)
    assert figures["auto_share"] == pytest.approx(0.75)
    assert figures["auto_precision"] == pytest.approx(2 / 3)
    # Confident at 0.95 but right 2 times in 3, and at 0.55 right once: (3 * |2/3 - 0.95| + |1 - 0.55|) / 4.
    assert figures["topic_ece"] == pytest.approx((3 * abs(2 / 3 - 0.95) + 0.45) / 4)
    assert "auto_precision" not in routing_metrics([_prediction("avfall", 0.4, True)], ["avfall"])


def test_real_text_is_scored_per_genre():
    items = [_item(1, "avfall", "real:proposal:Eslövs kommun"), _item(2, "avfall", "real:letter:Corren"),
             _item(3, "park_natur", "real:proposal:Östersunds kommun"), _item(4, "avfall", "written:a:x")]
    assert [genre_of(i) for i in items] == ["proposal", "letter", "proposal", None]
    predictions = [_prediction("avfall", 0.9, False)] * 4
    metrics = evaluate_items(items, predictions)
    assert metrics["slice_genre_proposal_n"] == 2
    assert metrics["slice_genre_proposal_topic_accuracy"] == pytest.approx(0.5)
    assert metrics["slice_genre_letter_auto_precision"] == pytest.approx(1.0)
    assert not any(key.startswith("slice_genre_written") for key in metrics)
