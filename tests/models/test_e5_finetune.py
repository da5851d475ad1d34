"""The e5-finetune kind on a tiny random BERT: it learns, stops early, keeps its embeddings frozen, and a fitted
model serves from its own checkpoint after a joblib round trip."""

from __future__ import annotations

import numpy as np
import pytest

from models.e5_finetune import LabelledTexts, balanced_weights, finetune, length_batches
from pipeline.config import FinetuneParams
from tests.conftest import WORDS

# A task the tiny model can learn in a few epochs: the topic is told by one keyword among random filler
# words of the tiny tokenizer's vocabulary, and "livsfarligt" makes an inquiry akut.
KEYWORDS = {"avfall": "hämtning", "parkering_trafik": "parkering", "skatt_avgifter_fakturor": "faktura"}
FILLER = [w for w in WORDS if w not in {*KEYWORDS.values(), "livsfarligt"}]


def _keyword_set(n: int, seed: int) -> LabelledTexts:
    rng = np.random.default_rng(seed)
    texts, topics, urgencies = [], [], []
    for k in range(n):
        topic = list(KEYWORDS)[k % 3]
        words = [*rng.choice(FILLER, size=6).tolist(), KEYWORDS[topic]]
        akut = k % 4 == 0
        words += ["livsfarligt"] if akut else []
        rng.shuffle(words)
        texts.append(" ".join(words))
        topics.append(topic)
        urgencies.append("akut" if akut else "normal")
    return LabelledTexts(texts, topics, urgencies)


@pytest.fixture(scope="module")
def train_set() -> LabelledTexts:
    return _keyword_set(96, seed=1)


@pytest.fixture(scope="module")
def dev_set() -> LabelledTexts:
    return _keyword_set(30, seed=2)


def test_balanced_weights_make_every_class_weigh_the_same():
    labels = ["a"] * 6 + ["b"] * 2
    weights = balanced_weights(labels, ["a", "b"])
    assert weights[0] * 6 == pytest.approx(weights[1] * 2)
    assert np.mean([weights[0]] * 6 + [weights[1]] * 2) == pytest.approx(1.0)


def test_length_batches_cover_every_text_once_with_similar_lengths():
    lengths = list(range(100))
    batches = length_batches(lengths, 10, np.random.default_rng(0))
    assert sorted(i for batch in batches for i in batch) == lengths
    assert max(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) < 20


def test_finetuning_learns_and_serves_from_its_checkpoint(tiny_bert_dir, tmp_path, train_set, dev_set):
    import joblib
    import torch
    from transformers import AutoModel

    params = FinetuneParams(epochs=10, patience=10, batch_size=8, learning_rate=3e-3, head_learning_rate=3e-2,
                            max_length=48, trainable_layers=2)
    model = finetune(str(tiny_bert_dir), tmp_path / "tuned", train_set, dev_set, params, prefix="", quantize=False,
                     inference_max_length=64)
    losses = [record.train_loss for record in model.history]
    assert len(model.history) == 10 and losses[-1] < losses[0] / 2
    assert model.topic_labels == sorted(set(train_set.topics))

    base, tuned = AutoModel.from_pretrained(tiny_bert_dir), AutoModel.from_pretrained(tmp_path / "tuned")
    assert torch.equal(base.embeddings.word_embeddings.weight, tuned.embeddings.word_embeddings.weight)
    assert not torch.equal(base.encoder.layer[-1].output.dense.weight, tuned.encoder.layer[-1].output.dense.weight)

    topic_proba, urgency_proba = model.predict_proba(dev_set.texts)
    assert topic_proba.shape == (30, 3) and urgency_proba.shape == (30, 2)
    np.testing.assert_allclose(topic_proba.sum(axis=1), 1.0, rtol=1e-5)
    # The served path (checkpoint on disk, heads in numpy) reads texts as the trained network did.
    predicted_topics = [model.topic_labels[i] for i in topic_proba.argmax(axis=1)]
    predicted_urgencies = [model.urgency_labels[i] for i in urgency_proba.argmax(axis=1)]
    assert np.mean([p == t for p, t in zip(predicted_topics, dev_set.topics, strict=True)]) >= 0.9
    assert np.mean([p == u for p, u in zip(predicted_urgencies, dev_set.urgencies, strict=True)]) >= 0.9

    joblib.dump(model, tmp_path / "model.joblib")
    reloaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_allclose(reloaded.predict_proba(dev_set.texts[:5])[0], topic_proba[:5], atol=1e-5)

    # The same inputs into the same folder: the finished fine-tune is loaded, not trained again.
    stamp = (tmp_path / "tuned" / "model.safetensors").stat().st_mtime_ns
    again = finetune(str(tiny_bert_dir), tmp_path / "tuned", train_set, dev_set, params, prefix="", quantize=False,
                     inference_max_length=64)
    assert (tmp_path / "tuned" / "model.safetensors").stat().st_mtime_ns == stamp
    assert again.history == model.history
    np.testing.assert_allclose(again.predict_proba(dev_set.texts)[0], topic_proba, atol=1e-5)


def test_early_stopping_ends_training_when_dev_stops_improving(tiny_bert_dir, tmp_path, train_set, dev_set):
    # Learning rates near zero leave the dev score flat, so training stops `patience` epochs after the first.
    params = FinetuneParams(epochs=6, patience=1, learning_rate=1e-12, head_learning_rate=1e-12, max_length=32)
    model = finetune(str(tiny_bert_dir), tmp_path / "tuned", train_set, dev_set, params, prefix="", quantize=False)
    assert [record.epoch for record in model.history] == [1, 2]


def test_only_the_top_layers_are_trained(tiny_bert_dir, tmp_path, train_set, dev_set):
    import torch
    from transformers import AutoModel

    params = FinetuneParams(epochs=1, learning_rate=1e-3, max_length=32, trainable_layers=1)
    finetune(str(tiny_bert_dir), tmp_path / "tuned", train_set, dev_set, params, prefix="", quantize=False)
    base, tuned = AutoModel.from_pretrained(tiny_bert_dir), AutoModel.from_pretrained(tmp_path / "tuned")
    assert torch.equal(base.encoder.layer[0].output.dense.weight, tuned.encoder.layer[0].output.dense.weight)
    assert not torch.equal(base.encoder.layer[1].output.dense.weight, tuned.encoder.layer[1].output.dense.weight)
