"""The generated model card states use, data and hash, scores overall and by slice, limits and oversight."""

from models.model_card import ModelCardFacts, render


def test_card_has_every_section_with_the_run_figures():
    metrics = {"test_topic_macro_f1": 0.6543, "test_akut_recall": 0.951, "test_n": 506.0, "dev_n": 400.0,
               "dev_topic_macro_f1": 0.61, "test_slice_call_n": 120.0, "test_slice_call_topic_macro_f1": 0.512,
               "test_slice_en_n": 50.0, "test_slice_en_topic_macro_f1": 0.4, "test_policy_topic_coverage": 0.46,
               "test_slice_sv_n": 456.0, "test_slice_sv_topic_macro_f1": 0.66, "swefaq_topic_macro_f1": 0.08}
    card = render(ModelCardFacts(
        model_name="kommun-triage", version="7", run_id="abc123", model_kind="tfidf", git_commit="deadbeef",
        dataset_hash="0123456789abcdef", dataset_files=["train.jsonl", "dev.jsonl", "test.jsonl"], train_size=1300,
        taxonomy_version="2026.1", red_flags_version="3", metrics=metrics, evaluation_sets=["dev", "test", "swefaq"],
        target_precision=0.9, akut_target_recall=0.95,
    ))
    for heading in ("## Intended use", "## Training data", "## Evaluation", "## Decision policy", "## Known limits",
                    "## Human oversight"):
        assert heading in card
    assert "kommun-triage version 7" in card and "`0123456789abcdef`" in card and "deadbeef" in card
    assert "| topic macro-F1 | 0.610 | 0.654 |" in card  # swefaq has no figures: no column for it
    assert "| call | 120 | 0.512 | – |" in card
    assert "| en | 50 | 0.400 | – |" in card and "| email |" not in card
    assert "46% were auto-routed" in card
    assert "triage rollback" in card
    assert "Weaker slices on test (topic macro-F1, whole split 0.654): call 0.512, en 0.400." in card  # not sv
    assert "`swefaq`" in card and "0.080" in card
    assert "Akut recall on test is 0.951: about 5%" in card
