"""SentenceEncoder on a tiny random BERT built on the fly: bucketing keeps order, batches match single texts,
outputs are unit vectors, int8 stays close to fp32, and pickling carries configuration only.

No downloads: the checkpoint is a 2-layer, 32-wide ``BertModel`` with random weights and a word-level
tokenizer over a small Swedish vocabulary, written into a temporary directory once per module.
"""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from models.encoder import FFN_OUTPUT, SentenceEncoder
from tests.conftest import HIDDEN

SENTENCES = [
    "Soptunnan har inte tömts på två veckor.",
    "Gatlampan utanför skolan är trasig sedan i måndags.",
    "Jag vill överklaga beslutet om bygglov för vår tillbyggnad.",
    "Det luktar avlopp i källaren och vattnet ur kranen är brunt.",
    "När öppnar förskolan efter sommaruppehållet?",
    "Min äldre mor behöver hjälp med hemtjänst och färdtjänst.",
    "Snöröjningen har inte skett på hela veckan, det är livsfarligt!",
    "Hej!",
    "Tack.",
    "Faktura för hämtning",
    "Grannen har en hund och en katt som är trasig, hej hej tack tack kommunen vägen buss parkering elev lärare.",
    "Parkering vid skolan",
    "Bussen",  # unknown word: [UNK]
]




@pytest.fixture(scope="module")
def fp32(tiny_bert_dir) -> SentenceEncoder:
    return SentenceEncoder(tiny_bert_dir, quantize=False, batch_size=4)


@pytest.fixture(scope="module")
def int8(tiny_bert_dir) -> SentenceEncoder:
    encoder = SentenceEncoder(tiny_bert_dir, quantize=True, batch_size=4)
    if not encoder.quantized:
        pytest.skip("no int8 backend on this CPU")
    return encoder


def test_embeddings_are_float32_unit_vectors(fp32, int8):
    for encoder in (fp32, int8):
        out = encoder.encode(SENTENCES)
        assert out.dtype == np.float32
        assert out.shape == (len(SENTENCES), HIDDEN) == (len(SENTENCES), encoder.dimension)
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_texts_get_distinct_embeddings(fp32):
    # The order tests below only mean something if a swap would show.
    out = fp32.encode(SENTENCES)
    distances = np.linalg.norm(out[:, None] - out[None, :], axis=-1)[np.triu_indices(len(SENTENCES), 1)]
    assert distances.min() > 0.05


def test_order_is_kept_under_length_bucketing(fp32):
    reference = fp32.encode(SENTENCES)
    perm = list(range(len(SENTENCES)))
    random.Random(7).shuffle(perm)
    shuffled = fp32.encode([SENTENCES[i] for i in perm])
    np.testing.assert_allclose(shuffled, reference[perm], atol=1e-5)


def test_batch_equals_one_at_a_time(fp32):
    batched = fp32.encode(SENTENCES)
    single = np.stack([fp32.encode([text])[0] for text in SENTENCES])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_int8_batch_is_close_to_one_at_a_time(int8):
    # int8 activation scales are per forward pass, so a text's embedding depends a little on its batch
    # (cosine about 0.9997 here).
    batched = int8.encode(SENTENCES)
    single = np.stack([int8.encode([text])[0] for text in SENTENCES])
    assert (batched * single).sum(axis=1).min() > 0.999


def test_int8_is_close_to_fp32(fp32, int8):
    # On this random 32-wide model, dynamic int8 (per-channel weights, 7-bit activations on x86) agrees with
    # fp32 to a cosine of about 0.9997. Different texts are close too (cosines up to ~0.99, as mean-pooled
    # embeddings share a common component), so the test that matters is the second: every int8 embedding
    # is nearer its own fp32 embedding than half the distance between any two texts', i.e. int8 changes
    # no nearest neighbour.
    a, b = fp32.encode(SENTENCES), int8.encode(SENTENCES)
    assert (a * b).sum(axis=1).min() > 0.998
    error = np.linalg.norm(a - b, axis=1)
    separation = np.linalg.norm(a[:, None] - a[None, :], axis=-1)[np.triu_indices(len(SENTENCES), 1)]
    assert error.max() < separation.min() / 2


def test_keep_fp32_leaves_matching_layers_unquantised(tiny_bert_dir, fp32):
    import torch

    encoder = SentenceEncoder(tiny_bert_dir, keep_fp32=FFN_OUTPUT)
    if not encoder.quantized:
        pytest.skip("no int8 backend on this CPU")
    kept = {name for name, module in encoder._model.named_modules() if type(module) is torch.nn.Linear}
    assert kept == {f"encoder.layer.{i}.output.dense" for i in range(2)}
    assert (encoder.encode(SENTENCES) * fp32.encode(SENTENCES)).sum(axis=1).min() > 0.99


def test_prefix_is_prepended(tiny_bert_dir, fp32):
    bare = SentenceEncoder(tiny_bert_dir, quantize=False, prefix="")
    np.testing.assert_allclose(fp32.encode(SENTENCES[:3]), bare.encode(["query: " + t for t in SENTENCES[:3]]), atol=1e-5)
    assert not np.allclose(fp32.encode(SENTENCES[:3]), bare.encode(SENTENCES[:3]), atol=1e-3)


def test_long_texts_are_truncated(tiny_bert_dir):
    encoder = SentenceEncoder(tiny_bert_dir, quantize=False, max_length=10)
    words = (" ".join(SENTENCES)).replace(".", "").split()
    # [CLS] query : w1..w6 [SEP] = 10 tokens: everything after the sixth word is cut off
    np.testing.assert_allclose(encoder.encode([" ".join(words)]), encoder.encode([" ".join(words[:6])]), atol=1e-5)


def test_empty_input_and_bare_string(fp32):
    assert fp32.encode([]).shape == (0, HIDDEN)
    with pytest.raises(TypeError):
        fp32.encode("en text")


def test_pickle_carries_configuration_only(int8):
    blob = pickle.dumps(int8)
    assert len(blob) < 2_000  # the config; the tiny model alone would be tens of kilobytes
    assert b"torch" not in blob
    clone = pickle.loads(blob)
    assert not clone.loaded
    assert clone.dimension == HIDDEN and not clone.loaded  # read from config.json, no model load
    assert (clone.model_dir, clone.quantize, clone.batch_size, clone.prefix) == (int8.model_dir, True, 4, "query: ")
    np.testing.assert_allclose(clone.encode(SENTENCES), int8.encode(SENTENCES), atol=1e-6)
    assert clone.loaded and clone.quantized
    assert pickle.loads(pickle.dumps(clone)).__getstate__() == clone.__getstate__()


def test_token_ids_are_what_encode_reads(fp32):
    ids = fp32.token_ids(["Hej!", "Tack för hjälpen"])
    vocab = fp32._tokenizer.get_vocab()
    assert ids[0] == [vocab[t] for t in ("[CLS]", "query", ":", "hej", "!", "[SEP]")]
    assert ids[1][-2] == vocab["[UNK]"]  # "hjälpen" is not in the vocabulary
    assert fp32.token_ids([]) == []


def test_falls_back_to_fp32_without_an_int8_backend(tiny_bert_dir, fp32, monkeypatch):
    import models.encoder

    monkeypatch.setattr(models.encoder, "_quantization_engine", lambda: None)
    encoder = SentenceEncoder(tiny_bert_dir, quantize=True)
    assert encoder.quantize and not encoder.quantized
    np.testing.assert_allclose(encoder.encode(SENTENCES), fp32.encode(SENTENCES), atol=1e-5)


def test_falls_back_to_a_fresh_fp32_model_when_int8_fails(tiny_bert_dir, fp32, monkeypatch):
    import torch

    real = torch.ao.quantization.quantize_dynamic

    def convert_then_fail(model, *args, **kwargs):
        real(model, *args, **kwargs)  # leaves the model converted, as a late failure would
        raise RuntimeError("simulated: no kernel for this CPU")

    monkeypatch.setattr(torch.ao.quantization, "quantize_dynamic", convert_then_fail)
    encoder = SentenceEncoder(tiny_bert_dir, quantize=True)
    assert not encoder.quantized
    assert all(type(m) is not torch.ao.nn.quantized.dynamic.Linear for m in encoder._model.modules())
    np.testing.assert_allclose(encoder.encode(SENTENCES), fp32.encode(SENTENCES), atol=1e-5)


def test_bfloat16_embeddings_stay_close_to_fp32_and_survive_pickling(tiny_bert_dir, fp32):
    texts = SENTENCES
    bf16 = SentenceEncoder(tiny_bert_dir, quantize=False, batch_size=4, bfloat16=True)
    ours, reference = bf16.encode(texts), fp32.encode(texts)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * reference).sum(axis=1).min() > 0.99
    clone = pickle.loads(pickle.dumps(bf16))
    assert clone.bfloat16 is True and np.allclose(clone.encode(texts), ours, atol=1e-6)


def test_auto_bfloat16_follows_the_cpu(tiny_bert_dir):
    import torch

    from models.encoder import native_bfloat16

    encoder = SentenceEncoder(tiny_bert_dir, quantize=False, bfloat16="auto")
    expected = torch.bfloat16 if native_bfloat16() else torch.float32
    assert next(encoder._model.parameters()).dtype == expected
