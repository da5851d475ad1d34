"""What trimming e5's vocabulary costs and gains, per language: the full checkpoint, the Swedish-and-English trim,
that plus every Arabic, Ge'ez and Cyrillic piece, and today's trim (every Latin, Arabic, Ge'ez and Cyrillic piece),
side by side in one process.

Per checkpoint: pieces kept, size on disk, and encoding speed (fp32, batched, `max_length` 128, as served) on the
first 256 test inquiries. Per language of the behavioural set (data/languages/behaviour.jsonl) and Swedish test
inquiries: pieces per word, the share of <unk> pieces, and the mean cosine of each text's embedding to the full
checkpoint's. Run `triage model prepare` first; the two other trims are made in the model cache when missing.

    .venv/bin/python bench/bench_vocabulary.py
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from transformers import AutoTokenizer

from models.encoder import SentenceEncoder
from pipeline.config import REPO_ROOT, Settings, load_training
from pipeline.preprocess import prepare_text

BEHAVIOUR_SET = REPO_ROOT / "data" / "languages" / "behaviour.jsonl"


def _trim(full: Path, target: Path, corpus_dir: Path, keep_scripts: tuple[str, ...]) -> Path:
    from models.e5_convert import TRIM_FILE, default_trim_texts, trim_vocabulary

    if not (target / TRIM_FILE).is_file():
        trim_vocabulary(full, target, default_trim_texts(corpus_dir), keep_scripts=keep_scripts, n_embed=0)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    args = parser.parse_args()

    settings = Settings()
    corpus_dir = load_training(settings.config_dir).corpus_path()
    cache = settings.model_cache
    full = cache / "multilingual-e5-small"
    checkpoints = {
        "full": full,
        "Swedish and English": _trim(full, cache / "multilingual-e5-small-sv-en", corpus_dir, ()),
        "+ Arabic, Ge'ez, Cyrillic": _trim(full, cache / "multilingual-e5-small-sv-en-scripts", corpus_dir,
                                           ("arabic", "ethiopic", "cyrillic")),
        "today's trim": cache / "multilingual-e5-small-trimmed",
    }
    groups: dict[str, list[str]] = defaultdict(list)
    for line in BEHAVIOUR_SET.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        groups[item["lang"]].append(prepare_text(item["channel"], item["subject"], item["body"]))
    test = [json.loads(line) for line in (corpus_dir / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    groups["sv (test)"] = [prepare_text(i["channel"], i["subject"], i["body"]) for i in test if i["lang"] == "sv"][:100]
    speed_texts = [prepare_text(i["channel"], i["subject"], i["body"]) for i in test[: args.n]]

    print(f"CPUs {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}\n")
    print("| checkpoint | pieces | size on disk | encoding, inquiries/s |\n|---|---|---|---|")
    tokenizers, embeddings = {}, {}
    for name, directory in checkpoints.items():
        encoder = SentenceEncoder(directory, quantize=False, max_length=128)
        encoder.encode(speed_texts[:2])
        started = time.perf_counter()
        encoder.encode(speed_texts)
        rate = len(speed_texts) / (time.perf_counter() - started)
        size = sum(f.stat().st_size for f in Path(directory).iterdir() if f.suffix in (".safetensors", ".json"))
        tokenizers[name] = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        print(f"| {name} | {len(tokenizers[name]):,} | {size / 2**20:.0f} MiB | {rate:.1f} |")
        embeddings[name] = {lang: encoder.encode(texts) for lang, texts in groups.items()}

    print("\n| language | " + " | ".join(f"{name}: pieces/word, <unk>, cosine to full" for name in checkpoints)
          + " |\n|---|" + "---|" * len(checkpoints))
    for lang, texts in groups.items():
        words = sum(len(t.split()) for t in texts)
        cells = []
        for name, tokenizer in tokenizers.items():
            ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
            unk = tokenizer.unk_token_id
            n_pieces = sum(map(len, ids))
            cosine = float(np.mean(np.sum(embeddings[name][lang] * embeddings["full"][lang], axis=1)))
            cells.append(f"{n_pieces / words:.2f}, {sum(x == unk for i in ids for x in i) / n_pieces:.3f}, {cosine:.3f}")
        print(f"| {lang} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
