"""The ensemble kind averages its members' probabilities head by head, with fixed weights."""

from __future__ import annotations

import numpy as np
import pytest

from models.ensemble import EnsembleModel
from pipeline.config import EnsembleParams


class Constant:
    """A TextModel that gives every text the same probabilities."""

    def __init__(self, topic: list[float], urgency: list[float], topics=("a", "b"), urgencies=("akut", "normal")):
        self.topic, self.urgency = np.array(topic), np.array(urgency)
        self.topic_labels, self.urgency_labels = list(topics), list(urgencies)

    def predict_proba(self, texts):
        return np.tile(self.topic, (len(texts), 1)), np.tile(self.urgency, (len(texts), 1))


def test_equal_weights_average_the_members():
    model = EnsembleModel([Constant([0.9, 0.1], [0.2, 0.8]), Constant([0.3, 0.7], [0.6, 0.4])])
    topic, urgency = model.predict_proba(["x", "y"])
    np.testing.assert_allclose(topic, [[0.6, 0.4]] * 2)
    np.testing.assert_allclose(urgency, [[0.4, 0.6]] * 2)


def test_weights_are_normalised():
    model = EnsembleModel([Constant([1.0, 0.0], [1.0, 0.0]), Constant([0.0, 1.0], [0.0, 1.0])], weights=[3, 1])
    np.testing.assert_allclose(model.predict_proba(["x"])[0], [[0.75, 0.25]])


def test_members_must_share_labels():
    with pytest.raises(ValueError, match="same topic and urgency labels"):
        EnsembleModel([Constant([0.5, 0.5], [0.5, 0.5]), Constant([0.5, 0.5], [0.5, 0.5], topics=("a", "c"))])


def test_config_rejects_weights_that_do_not_match_the_members():
    with pytest.raises(ValueError, match="one non-negative number per member"):
        EnsembleParams(members=["e5-finetune", "tfidf"], weights=[1.0])


def test_ensemble_kind_trains_every_member(tiny_config):
    from models.train import fit_model
    from pipeline.corpus import load_split
    from tests.conftest import CORPUS_DIR

    config = tiny_config.model_copy(update={"model_kind": "ensemble",
                                            "ensemble": EnsembleParams(members=["tfidf", "tfidf"], weights=[1, 1])})
    model = fit_model(config, load_split(CORPUS_DIR, "train")[:300])
    topic, urgency = model.predict_proba(["Soptunnan har inte tömts."])
    single = model.members[0].predict_proba(["Soptunnan har inte tömts."])
    np.testing.assert_allclose(topic, single[0])  # two identical members average to either of them
    assert urgency.shape == (1, 4)
