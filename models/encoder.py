"""Sentence embeddings from a local e5-style checkpoint (BERT encoder), tuned for CPU inference.

:class:`SentenceEncoder` turns texts into float32, mean-pooled, L2-normalised embeddings, the way
multilingual-e5 is meant to be used: every text gets a prefix (``"query: "`` for symmetric tasks such as
classification), the last hidden states are averaged over the attention mask, and the mean is
normalised to unit length. What makes it fast on a small CPU:

* **length bucketing**: all texts are tokenised once without padding, sorted by token count and cut
  into batches of neighbours, so each batch is padded only to its own longest text; the embeddings are
  then put back in the caller's order;
* **dynamic int8 quantisation** (default): every ``nn.Linear`` gets int8 weights (one scale per output
  channel) and int8 activations quantised per forward pass (``torch.ao.quantization.quantize_dynamic``);
  ``quantize=False`` keeps the fp32 model, and ``keep_fp32`` leaves chosen layers in fp32;
* the single-text path skips the attention mask (nothing is padded) and the unused BERT pooler.

The checkpoint is loaded offline (``local_files_only=True``); :func:`models.e5_convert.build_checkpoint`
writes one for multilingual-e5-small. An encoder pickles as its configuration only (the torch model is
dropped and reloaded from ``model_dir`` on first use), so classifiers that hold one can be joblib-dumped.

Nothing here runs at import time; torch and transformers are imported when a model is loaded.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# torch 2.x marks the eager-mode quantisation API deprecated (the replacement, torchao, is not a
# dependency); it still works, so its warnings are silenced where we call it.
_QUANT_DEPRECATION = r"torch\.(ao\.quantization|quantize_per_tensor).*deprecated"

# ``keep_fp32`` pattern for BERT's feed-forward output projections (``encoder.layer.N.output.dense``).
# Their input is the GELU output, whose few large channels force a coarse int8 activation scale (fbgemm
# uses 7 of the 8 bits); keeping these 12 layers fp32 takes multilingual-e5-small's int8/fp32 cosine
# from about 0.989 to 0.996 for roughly a third of the int8 speed-up (see bench/bench_encoder.py).
FFN_OUTPUT = r"(^|\.)layer\.\d+\.output\.dense$"


def _quantization_engine() -> str | None:
    """The quantised-kernel backend usable on this CPU, or None when there is none."""
    import torch

    supported = set(torch.backends.quantized.supported_engines)
    capability = torch.backends.cpu.get_cpu_capability()  # "AVX2", "AVX512", "DEFAULT", "NO AVX", ...
    # fbgemm (behind "x86") needs AVX2; qnnpack is the portable (ARM) backend.
    candidates = ["x86", "fbgemm", "qnnpack"] if capability.startswith("AVX") else ["qnnpack"]
    return next((engine for engine in candidates if engine in supported), None)


def _quantize_in_place(model: Any, keep_fp32: str | None) -> bool:
    """Swap ``model``'s linear layers for dynamic int8 ones; True on success, False if the CPU can't run them.

    In place, because a copy would duplicate the 250k-row word embedding. After a False the model may be
    partly converted (the failure can come after the swap, in the smoke test): the caller reloads fp32.
    """
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig

    engine = _quantization_engine()
    if engine is None:
        log.warning("no quantised CPU backend (engines: %s); encoder stays fp32", torch.backends.quantized.supported_engines)
        return False
    # Per-output-channel weight scales: at the same speed, they take multilingual-e5-small's int8/fp32
    # cosine from about 0.980 (quantize_dynamic's per-tensor default) to 0.989.
    spec = {
        name: per_channel_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and not (keep_fp32 and re.search(keep_fp32, name))
    }
    if not spec:
        return False
    try:
        if torch.backends.quantized.engine != engine:
            torch.backends.quantized.engine = engine
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_QUANT_DEPRECATION)
            torch.ao.quantization.quantize_dynamic(model, spec, dtype=torch.qint8, inplace=True)
            with torch.inference_mode():  # smoke test: a backend can be listed yet fail on this CPU
                model(input_ids=torch.zeros((1, 2), dtype=torch.long))
    except (RuntimeError, NotImplementedError) as exc:
        log.warning("int8 quantisation unavailable on this CPU (%s); encoder stays fp32", exc)
        return False
    return True


def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AMX or AVX-512 BF16); elsewhere bf16 would be emulated, slowly."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            flags = next((line for line in cpuinfo if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


class SentenceEncoder:
    """Mean-pooled, L2-normalised sentence embeddings from a local BERT-type checkpoint.

    ``model_dir`` holds a Hugging Face checkpoint (``AutoModel`` + ``AutoTokenizer``). ``prefix`` is put
    in front of every text (e5: ``"query: "`` for classification, ``"passage: "`` for documents to be
    retrieved); texts longer than ``max_length`` tokens (special tokens included) are truncated.
    ``batch_size`` is the number of texts per forward pass. ``threads`` calls ``torch.set_num_threads``
    when the model is loaded; note that this setting is process-wide.

    With ``quantize=True`` the linear layers run in dynamic int8, except those whose module name matches
    the regular expression ``keep_fp32`` (``re.search``; e.g. :data:`FFN_OUTPUT`). If this CPU/torch build
    has no usable quantised backend, the encoder logs a warning and stays fp32; :attr:`quantized` tells.
    ``bfloat16=True`` runs the (fp32) model in bfloat16, ``"auto"`` does so only where the CPU computes bf16
    natively (:func:`native_bfloat16`: AMX or AVX-512 BF16); int8 takes precedence. Embeddings are pooled in fp32.
    Because int8 activation scales are computed per forward pass over the whole padded batch, int8
    embeddings depend very slightly on which texts share a batch; the fp32 path does not (to rounding).
    """

    def __init__(
        self,
        model_dir: Path | str,
        *,
        quantize: bool = True,
        max_length: int = 256,
        batch_size: int = 32,
        prefix: str = "query: ",
        threads: int | None = None,
        keep_fp32: str | None = None,
        bfloat16: bool | str = False,
    ) -> None:
        if max_length < 2 or batch_size < 1:
            raise ValueError("max_length must be >= 2 and batch_size >= 1")
        if keep_fp32 is not None:
            re.compile(keep_fp32)  # a bad pattern should fail here, not at the first (lazy) load
        # An absolute path, so that an unpickled encoder finds the checkpoint from any working directory.
        self.model_dir = Path(model_dir).expanduser().resolve()
        self.quantize = quantize
        self.max_length = max_length
        self.batch_size = batch_size
        self.prefix = prefix
        self.threads = threads
        self.keep_fp32 = keep_fp32
        self.bfloat16 = bfloat16
        self._init_runtime()
        self._load()  # fail fast on a missing or broken checkpoint

    # ------------------------------------------------------------------ pickling

    _CONFIG = ("model_dir", "quantize", "max_length", "batch_size", "prefix", "threads", "keep_fp32", "bfloat16")

    def __getstate__(self) -> dict[str, Any]:
        # Only the configuration: the torch model and tokenizer are large, and a quantised model's
        # packed weights are tied to the kernel backend; both are reloaded from model_dir on first use.
        return {name: getattr(self, name) for name in self._CONFIG}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.threads, self.keep_fp32, self.bfloat16 = None, None, False  # options an older pickle may lack
        for name in self._CONFIG:
            if name in state:
                setattr(self, name, state[name])
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._model: Any = None
        self._tokenizer: Any = None
        self._pad_id = 0
        self._quantized = False
        self._lock = threading.Lock()  # a lazily loading encoder may be shared between threads

    def __repr__(self) -> str:
        return (
            f"SentenceEncoder({str(self.model_dir)!r}, quantize={self.quantize}, max_length={self.max_length}, "
            f"batch_size={self.batch_size}, prefix={self.prefix!r}, threads={self.threads}, keep_fp32={self.keep_fp32!r}, "
            f"bfloat16={self.bfloat16!r})"
        )

    # ------------------------------------------------------------------ loading

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (False after unpickling until the first encode)."""
        return self._model is not None

    @property
    def quantized(self) -> bool:
        """Whether the loaded model actually runs int8 (``quantize`` may have fallen back to fp32)."""
        self._load()
        return self._quantized

    @property
    def dimension(self) -> int:
        """Embedding size (the checkpoint's hidden size); read from config.json if the model isn't loaded."""
        if self._model is not None:
            return int(self._model.config.hidden_size)
        from transformers import AutoConfig

        return int(AutoConfig.from_pretrained(self.model_dir, local_files_only=True).hidden_size)

    def _load(self) -> None:
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            import torch
            from transformers import AutoTokenizer

            if self.threads is not None:
                torch.set_num_threads(self.threads)
            tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
            model = self._fp32_model()
            quantized = self.quantize and _quantize_in_place(model, self.keep_fp32)
            if self.quantize and not quantized:
                model = self._fp32_model()  # a failed conversion may have left it half-swapped
            if not quantized and (self.bfloat16 is True or (self.bfloat16 == "auto" and native_bfloat16())):
                model = model.to(torch.bfloat16)
            self._tokenizer, self._pad_id, self._quantized = tokenizer, tokenizer.pad_token_id or 0, quantized
            self._model = model  # set last: it is what _load's fast path checks

    def _fp32_model(self) -> Any:
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # its load report would list the pooler, which e5 does not use
        model = AutoModel.from_pretrained(self.model_dir, local_files_only=True).eval()
        # e5 mean-pools the token states; the pooler (a dense layer on [CLS]) would be wasted work.
        if getattr(model, "pooler", None) is not None:
            model.pooler = None
        return model

    # ------------------------------------------------------------------ encoding

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """The token ids each text is encoded from: prefix added, special tokens included, truncated, unpadded."""
        if isinstance(texts, str):
            raise TypeError("expected a sequence of texts, not a single string")
        self._load()
        if len(texts) == 0:
            return []
        return self._tokenizer(
            [self.prefix + text for text in texts],
            truncation=True,
            max_length=self.max_length,
            padding=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` (prefix added), float32 of shape (len(texts), dimension), unit L2 norm, input order."""
        ids = self.token_ids(texts)
        n = len(ids)
        out = np.empty((n, self.dimension), dtype=np.float32)
        if n == 0:
            return out
        # Longest first (stable), so neighbours in a batch have similar lengths and padding stays minimal.
        order = sorted(range(n), key=lambda i: -len(ids[i]))
        for start in range(0, n, self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._forward([ids[i] for i in rows])
        return out

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        """Pooled, normalised embeddings of one batch of token-id lists (sorted longest first)."""
        import torch

        lengths = [len(seq) for seq in batch]
        width = max(lengths)
        input_ids = np.full((len(batch), width), self._pad_id, dtype=np.int64)
        for row, seq in enumerate(batch):
            input_ids[row, : len(seq)] = seq
        padded = min(lengths) != width
        mask = None
        if padded:
            mask = torch.from_numpy((np.arange(width)[None, :] < np.asarray(lengths)[:, None]).astype(np.int64))
        with torch.inference_mode():
            # Without padding (always so for a single text) no mask is needed: attention skips masking.
            # Pooled in fp32 whatever the model computes in (a bf16 sum over many tokens would lose digits).
            hidden = self._model(input_ids=torch.from_numpy(input_ids), attention_mask=mask).last_hidden_state.float()
            if padded:
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1)
            else:
                pooled = hidden.mean(dim=1)
            return torch.nn.functional.normalize(pooled, p=2, dim=-1).float().numpy()
