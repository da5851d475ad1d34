"""The registered model is self-contained: a transformer kind bundles its checkpoint, so it classifies after the
training machine's model cache is gone, exactly as before it was registered."""

from __future__ import annotations

import shutil

import pytest

from models.base import InquiryClassifier, InquiryText
from pipeline.config import EncoderParams, EnsembleParams
from pipeline.corpus import load_split
from tests.conftest import CORPUS_DIR

INQUIRIES = [InquiryText("email", "Sopor", "Soptunnan har inte tömts."), InquiryText("call", None, "Hej, grannen hund!")]


@pytest.mark.parametrize("kind", ["e5-head", "ensemble"])
def test_registered_e5_model_bundles_its_checkpoint(tiny_bert_dir, tiny_config, tmp_path, kind):
    from models import tracking
    from models.train import fit_model

    checkpoint = tmp_path / "cache" / "encoder"
    shutil.copytree(tiny_bert_dir, checkpoint)
    config = tiny_config.model_copy(update={
        "model_kind": kind,
        "encoder": EncoderParams(base_model=str(checkpoint), quantize=False, max_length=64, prefix=""),
        "ensemble": EnsembleParams(members=["e5-head", "tfidf"]),
    })
    model = fit_model(config, load_split(CORPUS_DIR, "train")[:120], tmp_path / "cache")
    for member in getattr(model, "members", [model]):
        member.cache = None
    classifier = InquiryClassifier(model, version="candidate")
    before = classifier.predict(INQUIRIES)

    tracking.configure(f"sqlite:///{tmp_path / 'mlflow.db'}", "test-bundle", tmp_path / "artifacts")
    registered = tracking.log_and_register(classifier, model_name="test-bundle", params={"model_kind": "e5-head"},
                                           metrics={}, dataset_files=[CORPUS_DIR / "train.jsonl"], alias="champion")
    shutil.rmtree(tmp_path / "cache")  # the training machine's cache is gone; the registry must suffice

    loaded = tracking.load_classifier("models:/test-bundle@champion")
    assert loaded.version == f"test-bundle/{registered.version}"
    assert [e.model_dir for e in tracking.encoders_of(loaded)] != [checkpoint]
    after = loaded.predict(INQUIRIES)
    assert [(p.topic, p.urgency) for p in after] == [(p.topic, p.urgency) for p in before]
    assert [round(p.topic_confidence, 5) for p in after] == [round(p.topic_confidence, 5) for p in before]
