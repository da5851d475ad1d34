"""The e5-head kind's caching and heads, with a stand-in encoder (the real one is tested in test_encoder)."""

import zlib
from collections.abc import Sequence

import numpy as np

from models.e5_head import EmbeddingCache, EmbeddingHeadModel
from models.provision import checkpoint_identity, encoder_key, prepare_base_model
from pipeline.config import EncoderParams, HeadParams
from pipeline.corpus import load_split
from pipeline.preprocess import prepare_text
from tests.conftest import CORPUS_DIR


class CountingEncoder:
    """Bag-of-character-trigram vectors, counting how many texts it was asked to encode."""

    def __init__(self) -> None:
        self.encoded = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += len(texts)
        vectors = np.zeros((len(texts), 512), dtype=np.float32)
        for row, text in enumerate(texts):
            for n in range(len(text) - 2):
                vectors[row, zlib.crc32(text[n:n + 3].encode()) % 512] += 1
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def test_cache_encodes_each_text_once(tmp_path):
    encoder = CountingEncoder()
    cache = EmbeddingCache(tmp_path, "stand-in")
    first = cache.encode(encoder, ["hej", "soptunnan", "hej"])
    second = cache.encode(encoder, ["soptunnan", "hej", "ny text"])
    assert encoder.encoded == 4  # "hej" and "soptunnan" were stored after the first call
    np.testing.assert_allclose(first[1], second[0])
    assert EmbeddingCache(tmp_path, "another encoder").folder != cache.folder


def test_heads_learn_topics_from_embeddings(tmp_path):
    train = load_split(CORPUS_DIR, "train")
    texts = [prepare_text(i.channel, i.subject, i.body) for i in train]
    model = EmbeddingHeadModel(CountingEncoder(), HeadParams(C=10.0), cache=EmbeddingCache(tmp_path, "x"))
    model.fit(texts, [i.topic for i in train], [i.urgency for i in train])
    topic_proba, urgency_proba = model.predict_proba(["[email]\nSoptunnan har inte tömts på två veckor."])
    assert model.topic_labels[int(np.argmax(topic_proba[0]))] == "avfall"
    assert urgency_proba.shape == (1, 4)


def test_base_model_resolution(tmp_path):
    local = tmp_path / "my-bert"
    local.mkdir()
    assert prepare_base_model(EncoderParams(base_model=str(local)), tmp_path) == str(local.resolve())
    hub = EncoderParams(base_model="KB/bert-base-swedish-cased")
    assert prepare_base_model(hub, tmp_path) == "KB/bert-base-swedish-cased"
    assert encoder_key(hub, "a") != encoder_key(EncoderParams(base_model="x", prefix=""), "a")


def test_a_checkpoint_rebuilt_in_the_same_folder_is_another_cache_identity(tmp_path):
    # A new vocabulary trim writes a new tokenizer into the same folder: embeddings and fine-tunes cached for
    # the old one must not be reused.
    (tmp_path / "tokenizer.json").write_text('{"vocab": ["a", "b"]}', encoding="utf-8")
    params = EncoderParams(base_model=str(tmp_path))
    before = encoder_key(params, str(tmp_path))
    assert encoder_key(params, str(tmp_path)) == before
    (tmp_path / "tokenizer.json").write_text('{"vocab": ["a", "b", "c"]}', encoding="utf-8")
    assert encoder_key(params, str(tmp_path)) != before
    assert checkpoint_identity("KB/bert-base-swedish-cased") == "KB/bert-base-swedish-cased"


def test_e5_head_kind_trains_and_survives_a_joblib_round_trip(tiny_bert_dir, tmp_path, tiny_config):
    """The whole kind through the training path, on a tiny random BERT (no real checkpoint needed)."""
    import joblib

    from models.base import InquiryClassifier, InquiryText
    from models.train import fit_model

    config = tiny_config.model_copy(update={
        "model_kind": "e5-head",
        "encoder": EncoderParams(base_model=str(tiny_bert_dir), quantize=False, max_length=64, prefix=""),
    })
    train = load_split(CORPUS_DIR, "train")[:200]
    model = fit_model(config, train, tmp_path / "cache")
    assert len(list((tmp_path / "cache" / "embeddings").rglob("*.npy"))) == len({prepare_text(
        i.channel, i.subject, i.body) for i in train})
    model.cache = None
    classifier = InquiryClassifier(model, version="tiny-e5")
    inquiries = [InquiryText("email", "Sopor", "Soptunnan har inte tömts."), InquiryText("call", None, "Hej!")]
    before = classifier.predict(inquiries)
    joblib.dump(classifier, tmp_path / "classifier.joblib")
    after = joblib.load(tmp_path / "classifier.joblib").predict(inquiries)
    assert [(p.topic, p.urgency) for p in before] == [(p.topic, p.urgency) for p in after]
    assert all(abs(sum(p.topic_probabilities.values()) - 1) < 1e-6 for p in after)


def test_zero_shot_picks_the_topic_whose_description_matches(taxonomy):
    from models.zero_shot import ZeroShotModel

    model = ZeroShotModel(CountingEncoder(), taxonomy)
    topic = taxonomy.topics[5]
    topic_proba, urgency_proba = model.predict_proba([f"{topic.name}: {topic.description}"])
    assert model.topic_labels[int(np.argmax(topic_proba[0]))] == topic.code
    assert topic_proba.shape == (1, 26) and urgency_proba.shape == (1, 4)
    np.testing.assert_allclose(topic_proba.sum(axis=1), 1.0, rtol=1e-6)
