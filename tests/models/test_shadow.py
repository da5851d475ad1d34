"""Shadow comparison: a model agrees fully with itself, and disagreements are counted and listed by id only."""

from datetime import UTC, datetime

from models.base import InquiryClassifier, InquiryText
from models.shadow import ShadowComparison
from pipeline.corpus import load_split
from pipeline.domain import Channel, Inquiry
from tests.conftest import CORPUS_DIR


def _inquiries(n: int) -> tuple[list[Inquiry], list[InquiryText]]:
    items = load_split(CORPUS_DIR, "test")[:n]
    inquiries = [Inquiry(id=f"case-{k}", source="test", channel=Channel(i.channel), received_at=datetime(2026, 11, 2, tzinfo=UTC),
                         subject=i.subject, body=i.body) for k, i in enumerate(items)]
    return inquiries, [InquiryText(i.channel, i.subject, i.body) for i in items]


def test_a_model_agrees_with_itself(tiny_classifier, tenant):
    inquiries, texts = _inquiries(60)
    predictions = tiny_classifier.predict(texts)
    comparison = ShadowComparison("m/1", "m/1")
    comparison.add(inquiries, predictions, predictions, tenant)
    assert comparison.metrics() == {"shadow_cases": 60.0, "topic_agreement": 1.0, "urgency_agreement": 1.0,
                                    "queue_agreement": 1.0, "akut_disagreements": 0.0}
    assert comparison.disagreements == []


def test_disagreements_are_counted_and_listed(tiny_classifier, tenant):
    inquiries, texts = _inquiries(120)
    champion = tiny_classifier.predict(texts)
    challenger = InquiryClassifier(tiny_classifier.model, version="bare").predict(texts)
    comparison = ShadowComparison("m/1", "m/2")
    comparison.add(inquiries[:50], champion[:50], challenger[:50], tenant)
    comparison.add(inquiries[50:], champion[50:], challenger[50:], tenant)
    differing = [n for n, (a, b) in enumerate(zip(champion, challenger, strict=True))
                 if (a.topic, a.urgency) != (b.topic, b.urgency)]
    assert differing, "the bare model (no policy, no red flags) should differ somewhere"
    metrics = comparison.metrics()
    assert metrics["shadow_cases"] == 120
    assert metrics["topic_agreement"] == sum(a.topic == b.topic for a, b in zip(champion, challenger, strict=True)) / 120
    listed = {row[0] for row in comparison.disagreements}
    assert {f"case-{n}" for n in differing} <= listed
    assert "m/2 vs champion m/1 on 120 cases" in comparison.summary()
    table = comparison.disagreement_table()
    assert table.count("\n") == len(comparison.disagreements) + 1 and "Soptunnan" not in table
