"""Evidence: the words that weighed most for a topic come from the inquiry and follow the model's weights."""

from models.explain import weighted_words


def test_weighted_words_come_from_the_text_and_favour_the_topic(tiny_classifier):
    body = "Soptunnan har inte tömts på två veckor och det luktar illa i hela trapphuset"
    evidence = weighted_words(tiny_classifier, "email", "Sophämtning", body, "avfall")
    assert evidence, "the tiny model should find avfall words"
    text = f"sophämtning {body}".lower()
    assert all(word in text for word, _ in evidence)
    assert [w for _, w in evidence] == sorted((w for _, w in evidence), reverse=True) and evidence[0][1] > 0
    other = dict(weighted_words(tiny_classifier, "email", "Sophämtning", body, "bygglov") or [])
    assert dict(evidence).get(evidence[0][0], 0) > other.get(evidence[0][0], 0)


def test_unknown_topic_or_model_without_word_features_gives_none(tiny_classifier):
    assert weighted_words(tiny_classifier, "email", None, "hej", "inte_ett_amne") is None

    class NoWords:
        model = object()

    assert weighted_words(NoWords(), "email", None, "hej", "avfall") is None  # type: ignore[arg-type]


def test_an_ensemble_explains_through_its_tfidf_member(tiny_classifier, tiny_model):
    from models.base import InquiryClassifier
    from models.ensemble import EnsembleModel

    ensemble = InquiryClassifier(EnsembleModel([tiny_model, tiny_model]), version="test")
    body = "Soptunnan har inte tömts på två veckor"
    assert weighted_words(ensemble, "email", None, body, "avfall") == weighted_words(
        tiny_classifier, "email", None, body, "avfall")
