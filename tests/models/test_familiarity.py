"""The familiarity index and the guard it feeds: text unlike the training data goes to a person."""

from __future__ import annotations

import numpy as np
import pytest

from models.base import InquiryText
from models.familiarity import FamiliarityIndex

TRAIN = [
    "Soptunnan har inte tömts på två veckor, kan ni skicka en bil?",
    "Vi fick ingen tömning av kärlet i torsdags på vår gata.",
    "När kommer slamtömningen till vår fastighet i år?",
    "Grovsopor: när har återvinningscentralen öppet på lördagar?",
    "Det är ett potthål mitt i gatan utanför skolan.",
    "Gatlampan vid busshållplatsen har varit släckt i en vecka.",
]


def test_a_training_text_is_most_familiar_and_another_script_least():
    index = FamiliarityIndex(k=2).fit(TRAIN)
    same, related, foreign = index.similarity([
        TRAIN[0],
        "Soptunnan har inte tömts, skicka en bil",
        "زوجي يضربني وأنا خائفة على أطفالي الليلة",
    ])
    assert same > related > foreign
    assert foreign < 0.05  # only word-boundary padding n-grams are shared
    assert 0.0 <= related <= 1.0


def test_the_index_needs_fitting_and_enough_texts():
    with pytest.raises(ValueError, match="not fitted"):
        FamiliarityIndex().similarity(["hej"])
    with pytest.raises(ValueError, match="at least"):
        FamiliarityIndex(k=5).fit(TRAIN[:3])
    assert FamiliarityIndex(k=2).fit(TRAIN).similarity([]).shape == (0,)


def test_the_trained_classifier_sends_text_unlike_its_training_data_to_a_person(tiny_classifier, tenant):
    from datetime import UTC, datetime

    from pipeline.routing import route

    policy = tiny_classifier.policy
    assert policy is not None and policy.min_familiarity is not None and tiny_classifier.familiarity is not None
    [foreign] = tiny_classifier.predict([InquiryText("email", None, "Äitini ei saanut kotihoitoa eikä lääkkeitä tänään.")])
    assert foreign.needs_review
    reason = next(r for r in foreign.review_reasons if r.startswith("texten liknar inget i träningsdata"))
    # The reason reaches the routing trace, which the case page shows.
    decision = route(foreign, tenant, datetime(2026, 11, 2, 9, tzinfo=UTC))
    assert decision.queue == tenant.review_queue and reason in decision.trace


def test_the_guard_flags_about_the_configured_share_of_written_dev_text(tiny_classifier):
    from pipeline.corpus import load_split
    from pipeline.preprocess import prepare_text
    from tests.conftest import CORPUS_DIR

    dev = load_split(CORPUS_DIR, "dev")
    similarity = tiny_classifier.familiarity.similarity([prepare_text(i.channel, i.subject, i.body) for i in dev])
    flagged = float(np.mean(similarity < tiny_classifier.policy.min_familiarity))
    assert flagged <= 0.06  # the floor is the dev quantile the training config names (5 %)
