"""Shadow mode: the challenger classifies the same new cases as the champion, without routing anything, and
the two are compared: how often they agree on topic, urgency and queue, and where they part."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.config import TenantConfig
from pipeline.domain import Inquiry, Prediction
from pipeline.routing import route


@dataclass
class ShadowComparison:
    champion_version: str
    challenger_version: str
    cases: int = 0
    same_topic: int = 0
    same_urgency: int = 0
    same_queue: int = 0
    # Akut for one model and not the other: the disagreements that matter most.
    akut_disagreements: int = 0
    # (case id, champion topic/urgency/queue, challenger topic/urgency/queue); ids only, no text.
    disagreements: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, inquiries: Sequence[Inquiry], champion: Sequence[Prediction], challenger: Sequence[Prediction],
            tenant: TenantConfig) -> None:
        for inquiry, ours, theirs in zip(inquiries, champion, challenger, strict=True):
            queue_ours = route(ours, tenant, inquiry.received_at).queue
            queue_theirs = route(theirs, tenant, inquiry.received_at).queue
            self.cases += 1
            self.same_topic += ours.topic == theirs.topic
            self.same_urgency += ours.urgency == theirs.urgency
            self.same_queue += queue_ours == queue_theirs
            self.akut_disagreements += (ours.urgency == "akut") != (theirs.urgency == "akut")
            if (ours.topic, ours.urgency, queue_ours) != (theirs.topic, theirs.urgency, queue_theirs):
                self.disagreements.append((inquiry.id, f"{ours.topic}/{ours.urgency}/{queue_ours}",
                                           f"{theirs.topic}/{theirs.urgency}/{queue_theirs}"))

    def metrics(self) -> dict[str, float]:
        if not self.cases:
            return {"shadow_cases": 0.0}
        return {"shadow_cases": float(self.cases), "topic_agreement": self.same_topic / self.cases,
                "urgency_agreement": self.same_urgency / self.cases, "queue_agreement": self.same_queue / self.cases,
                "akut_disagreements": float(self.akut_disagreements)}

    def summary(self) -> str:
        if not self.cases:
            return f"shadow: challenger {self.challenger_version} saw no new cases"
        m = self.metrics()
        return (f"shadow: challenger {self.challenger_version} vs champion {self.champion_version} on {self.cases} "
                f"cases: topic agreement {m['topic_agreement']:.1%}, urgency {m['urgency_agreement']:.1%}, "
                f"queue {m['queue_agreement']:.1%}, {self.akut_disagreements} akut disagreements")

    def disagreement_table(self) -> str:
        lines = ["case_id\tchampion\tchallenger"]
        lines += ["\t".join(row) for row in self.disagreements]
        return "\n".join(lines) + "\n"
