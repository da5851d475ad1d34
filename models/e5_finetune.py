"""The `e5-finetune` model kind: the top layers of the e5 transformer fine-tuned with two softmax heads, topic
and urgency, over its mean-pooled, L2-normalised embedding.

Training runs on the CPU. The embeddings and the lower layers stay frozen, so their token states are computed
once per text and each step runs only the trainable top layers (``trainable_layers``; with 4 of 12 an epoch
costs about one forward pass of the whole model). Batches are cut from length-sorted texts so little is
padded; AdamW with linear warm-up and decay, class-weighted cross-entropy per head, and early stopping on the
dev split's mean macro-F1 of the two heads. The fine-tuned encoder is written as an ordinary Hugging Face checkpoint, so
inference reuses :class:`models.encoder.SentenceEncoder` (int8, length bucketing) and the heads are two small
matrices applied in numpy. torch is imported only when training.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from models.encoder import SentenceEncoder
from pipeline.config import FinetuneParams

log = logging.getLogger(__name__)

# Written last into a fine-tuned checkpoint: labels, heads and history; its presence marks a complete fine-tune.
RESULT_FILE = "finetune.json"


@dataclass(frozen=True)
class LabelledTexts:
    texts: Sequence[str]
    topics: Sequence[str]
    urgencies: Sequence[str]


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float
    dev_topic_f1: float
    dev_urgency_f1: float
    seconds: float

    @property
    def score(self) -> float:
        return (self.dev_topic_f1 + self.dev_urgency_f1) / 2


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class FinetunedModel:
    """A TextModel: the fine-tuned encoder's normalised embedding times each head's weights, softmaxed."""

    def __init__(self, encoder: SentenceEncoder, topic_labels: list[str], urgency_labels: list[str],
                 heads: dict[str, np.ndarray], history: list[EpochRecord]) -> None:
        self.encoder = encoder
        self.topic_labels = topic_labels
        self.urgency_labels = urgency_labels
        self.heads = heads  # topic_weight (n_topics, dim), topic_bias, urgency_weight, urgency_bias
        self.history = history

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        vectors = self.encoder.encode(texts)
        h = self.heads
        return (_softmax(vectors @ h["topic_weight"].T + h["topic_bias"]),
                _softmax(vectors @ h["urgency_weight"].T + h["urgency_bias"]))


def balanced_weights(labels: Sequence[str], classes: list[str]) -> np.ndarray:
    """sklearn's 'balanced' class weights: n / (k * count), so every class weighs the same in the loss."""
    counts = np.array([sum(1 for label in labels if label == c) for c in classes], dtype=np.float64)
    return len(labels) / (len(classes) * np.maximum(counts, 1.0))


def length_batches(lengths: Sequence[int], batch_size: int, rng: np.random.Generator) -> list[list[int]]:
    """Batches of texts of similar length, in random order: indices sorted by length with a little noise (so
    batches differ between epochs), cut into batches, then the batches shuffled."""
    noisy = np.asarray(lengths, dtype=np.float64) + rng.uniform(0, 8, size=len(lengths))
    order = np.argsort(noisy, kind="stable")
    batches = [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)  # type: ignore[arg-type]
    return batches


class _TrainableTop:
    """The e5 network split for cheap CPU training: the frozen part (embeddings and the lower layers) is run once
    per text and its token states kept; each training step runs only the trainable top layers, the mean pooling
    and the two heads. The encoder stays whole, so it is saved as an ordinary checkpoint."""

    def __init__(self, base_dir: str, n_topics: int, n_urgencies: int, params: FinetuneParams) -> None:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # the load report lists the unused pooler of e5's checkpoint
        self.encoder = AutoModel.from_pretrained(base_dir, local_files_only=True, add_pooling_layer=False)
        for parameter in self.encoder.parameters():
            parameter.requires_grad = False
        layers = self.encoder.encoder.layer
        self.n_frozen = max(0, len(layers) - params.trainable_layers)
        self.top = layers[self.n_frozen:]
        for parameter in self.top.parameters():
            parameter.requires_grad = True
        dim = self.encoder.config.hidden_size
        # A unit vector's coordinates are ~1/sqrt(dim); scaling by sqrt(dim) gives the heads inputs of ordinary
        # size, so their default initialisation and learning rate suit them.
        self.scale = math.sqrt(dim)
        self.dropout = torch.nn.Dropout(params.dropout)
        self.topic = torch.nn.Linear(dim, n_topics)
        self.urgency = torch.nn.Linear(dim, n_urgencies)

    def modules(self) -> list[Any]:
        return [self.top, self.dropout, self.topic, self.urgency]

    def train(self, mode: bool = True) -> None:
        for module in self.modules():
            module.train(mode)

    def _mask(self, hidden: Any, attention_mask: Any) -> Any:
        from transformers.masking_utils import create_bidirectional_mask

        return create_bidirectional_mask(config=self.encoder.config, inputs_embeds=hidden, attention_mask=attention_mask)

    def frozen_states(self, token_ids: list[list[int]], pad_id: int, batch_size: int) -> list[Any]:
        """Token states after the frozen layers, one (length, dim) tensor per text, computed in eval mode."""
        import torch

        self.encoder.eval()
        states: list[Any] = [None] * len(token_ids)
        order = sorted(range(len(token_ids)), key=lambda i: len(token_ids[i]))
        with torch.no_grad():
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                input_ids, mask = _padded([token_ids[i] for i in rows], pad_id)
                hidden = self.encoder.embeddings(input_ids=input_ids)
                extended = self._mask(hidden, mask)
                for layer in self.encoder.encoder.layer[:self.n_frozen]:
                    hidden = layer(hidden, attention_mask=extended)
                for row, i in enumerate(rows):
                    states[i] = hidden[row, : len(token_ids[i])].clone()
        return states

    def logits(self, states: list[Any]) -> tuple[Any, Any]:
        import torch

        width = max(len(s) for s in states)
        hidden = torch.zeros((len(states), width, states[0].shape[-1]))
        mask = torch.zeros((len(states), width), dtype=torch.long)
        for row, state in enumerate(states):
            hidden[row, : len(state)] = state
            mask[row, : len(state)] = 1
        extended = self._mask(hidden, mask)
        for layer in self.top:
            hidden = layer(hidden, attention_mask=extended)
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1)
        features = self.dropout(torch.nn.functional.normalize(pooled, p=2, dim=-1) * self.scale)
        return self.topic(features), self.urgency(features)

    def trainable_state(self) -> dict[str, Any]:
        return {f"{n}.{k}": v.detach().clone() for n, m in (("top", self.top), ("topic", self.topic),
                                                             ("urgency", self.urgency)) for k, v in m.state_dict().items()}

    def load_trainable_state(self, state: dict[str, Any]) -> None:
        for name, module in (("top", self.top), ("topic", self.topic), ("urgency", self.urgency)):
            module.load_state_dict({k.removeprefix(f"{name}."): v for k, v in state.items() if k.startswith(f"{name}.")})


def _padded(batch: list[list[int]], pad_id: int) -> tuple[Any, Any]:
    import torch

    width = max(len(ids) for ids in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, ids in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        mask[row, : len(ids)] = 1
    return input_ids, mask


def _predict_indices(net: _TrainableTop, states: list[Any], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    import torch

    net.train(False)
    order = sorted(range(len(states)), key=lambda i: len(states[i]))
    topics, urgencies = np.empty(len(states), dtype=np.int64), np.empty(len(states), dtype=np.int64)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            topic_logits, urgency_logits = net.logits([states[i] for i in rows])
            topics[rows] = topic_logits.argmax(dim=1).numpy()
            urgencies[rows] = urgency_logits.argmax(dim=1).numpy()
    return topics, urgencies


def finetune(base_dir: str, output_dir: Path, train: LabelledTexts, dev: LabelledTexts, params: FinetuneParams, *,
             prefix: str = "query: ", quantize: bool = True, bfloat16: bool | str = False,
             inference_max_length: int = 256,
             inference_batch_size: int = 32, seed: int = 13,
             progress: Callable[[EpochRecord], None] | None = None) -> FinetunedModel:
    """Fine-tune the checkpoint in `base_dir` on train, keep the epoch with the best dev score, write that
    encoder to `output_dir` as a Hugging Face checkpoint and return the model that serves it.

    Callers name `output_dir` by a hash of everything that determines the result (base, data, parameters,
    seed): a complete earlier fine-tune found there is loaded instead of trained again."""
    import torch
    from transformers import AutoTokenizer

    def serving(labels: tuple[list[str], list[str]], heads: dict[str, np.ndarray], history: list[EpochRecord]
                ) -> FinetunedModel:
        encoder = SentenceEncoder(output_dir, quantize=quantize, bfloat16=bfloat16, max_length=inference_max_length,
                                  batch_size=inference_batch_size, prefix=prefix)
        return FinetunedModel(encoder, labels[0], labels[1],
                              {name: np.asarray(value, dtype=np.float32) for name, value in heads.items()}, history)

    if (output_dir / RESULT_FILE).is_file():
        record = json.loads((output_dir / RESULT_FILE).read_text(encoding="utf-8"))
        log.info("reusing the fine-tuned checkpoint in %s", output_dir)
        return serving((record["topic_labels"], record["urgency_labels"]), record["heads"],
                       [EpochRecord(**epoch) for epoch in record["history"]])

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    pad_id = tokenizer.pad_token_id or 0

    def tokenize(texts: Sequence[str]) -> list[list[int]]:
        return tokenizer([prefix + t for t in texts], truncation=True, max_length=params.max_length,
                         padding=False, return_attention_mask=False, return_token_type_ids=False)["input_ids"]

    topic_labels, urgency_labels = sorted(set(train.topics)), sorted(set(train.urgencies))
    topic_index = {label: n for n, label in enumerate(topic_labels)}
    urgency_index = {label: n for n, label in enumerate(urgency_labels)}
    train_ids, dev_ids = tokenize(train.texts), tokenize(dev.texts)
    y_topic = torch.tensor([topic_index[t] for t in train.topics])
    y_urgency = torch.tensor([urgency_index[u] for u in train.urgencies])
    dev_topic = np.array([topic_index.get(t, -1) for t in dev.topics])
    dev_urgency = np.array([urgency_index.get(u, -1) for u in dev.urgencies])

    net = _TrainableTop(base_dir, len(topic_labels), len(urgency_labels), params)
    train_states = net.frozen_states(train_ids, pad_id, params.batch_size * 2)
    dev_states = net.frozen_states(dev_ids, pad_id, params.batch_size * 2)
    topic_loss = torch.nn.CrossEntropyLoss(
        weight=torch.tensor(balanced_weights(train.topics, topic_labels), dtype=torch.float32))
    urgency_loss = torch.nn.CrossEntropyLoss(
        weight=torch.tensor(balanced_weights(train.urgencies, urgency_labels), dtype=torch.float32))
    head_parameters = [*net.topic.parameters(), *net.urgency.parameters()]
    encoder_decay, encoder_no_decay = [], []
    for name, parameter in net.top.named_parameters():
        if parameter.requires_grad:
            # Biases and LayerNorm weights are not decayed, as in BERT's own recipe.
            (encoder_no_decay if name.endswith("bias") or "LayerNorm" in name else encoder_decay).append(parameter)
    optimizer = torch.optim.AdamW([
        {"params": encoder_decay, "lr": params.learning_rate, "weight_decay": params.weight_decay},
        {"params": encoder_no_decay, "lr": params.learning_rate, "weight_decay": 0.0},
        {"params": head_parameters, "lr": params.head_learning_rate, "weight_decay": params.weight_decay},
    ])
    steps_per_epoch = math.ceil(len(train_ids) / params.batch_size)
    total_steps = steps_per_epoch * params.epochs
    warmup = max(1, int(params.warmup_share * total_steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / max(1, total_steps - warmup))))

    history: list[EpochRecord] = []
    best_state: dict[str, Any] | None = None
    started = time.perf_counter()
    for epoch in range(1, params.epochs + 1):
        epoch_started = time.perf_counter()
        net.train()
        losses = []
        for rows in length_batches([len(ids) for ids in train_ids], params.batch_size, rng):
            topic_logits, urgency_logits = net.logits([train_states[i] for i in rows])
            loss = (topic_loss(topic_logits, y_topic[rows])
                    + params.urgency_loss_weight * urgency_loss(urgency_logits, y_urgency[rows]))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for group in optimizer.param_groups for p in group["params"]], 1.0)
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
        predicted_topic, predicted_urgency = _predict_indices(net, dev_states, params.batch_size * 2)
        record = EpochRecord(
            epoch=epoch, train_loss=float(np.mean(losses)),
            dev_topic_f1=float(f1_score(dev_topic, predicted_topic, average="macro", labels=range(len(topic_labels)))),
            dev_urgency_f1=float(f1_score(dev_urgency, predicted_urgency, average="macro", labels=range(len(urgency_labels)))),
            seconds=time.perf_counter() - epoch_started,
        )
        history.append(record)
        if progress:
            progress(record)
        if best_state is None or record.score > max(r.score for r in history[:-1]):
            best_state = net.trainable_state()
        elif epoch - max(history, key=lambda r: r.score).epoch >= params.patience:
            break  # early stopping: no better dev score for `patience` epochs
        if params.max_minutes and (time.perf_counter() - started) / 60 > params.max_minutes:
            log.warning("fine-tuning stopped after epoch %d: over its %.0f-minute budget", epoch, params.max_minutes)
            break

    assert best_state is not None
    net.load_trainable_state(best_state)
    if output_dir.exists():
        shutil.rmtree(output_dir)
    net.encoder.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    heads = {
        # The scale the heads saw in training is folded into their weights: they read unit vectors at inference.
        "topic_weight": net.topic.weight.detach().numpy() * net.scale, "topic_bias": net.topic.bias.detach().numpy(),
        "urgency_weight": net.urgency.weight.detach().numpy() * net.scale,
        "urgency_bias": net.urgency.bias.detach().numpy(),
    }
    record = {"topic_labels": topic_labels, "urgency_labels": urgency_labels,
              "heads": {name: value.tolist() for name, value in heads.items()},
              "history": [asdict(epoch) for epoch in history]}
    (output_dir / RESULT_FILE).write_text(json.dumps(record), encoding="utf-8")
    return serving((topic_labels, urgency_labels), heads, history)
