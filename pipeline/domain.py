"""Domain types shared by every layer: inquiries, predictions, routing decisions and cases."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Channel(StrEnum):
    EMAIL = "email"
    CALL = "call"


class CaseState(StrEnum):
    NEW = "new"
    ROUTED = "routed"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    REROUTED = "rerouted"


class Inquiry(BaseModel):
    """One message from a citizen, cleaned and redacted; the raw original stays in the case store."""

    model_config = ConfigDict(frozen=True)

    id: str
    source: str = Field(description="Where it came from, e.g. 'maildrop:inbox' or 'calllog:vendor_a'.")
    channel: Channel
    received_at: datetime
    sender: str | None = None
    subject: str | None = None
    body: str
    language: str | None = None
    raw_ref: str | None = Field(default=None, description="Reference to the raw original (file path, message id).")


class Prediction(BaseModel):
    model_config = ConfigDict(frozen=True)

    topic: str
    urgency: str
    topic_probabilities: dict[str, float]
    urgency_probabilities: dict[str, float]
    model_version: str
    needs_review: bool = Field(default=False, description="The model's own policy says a person should sort it.")
    review_reasons: list[str] = Field(default_factory=list)
    red_flags: list[str] = Field(default_factory=list, description="Red-flag rule hits, as trace lines.")
    alerts: list[str] = Field(default_factory=list, description="Who to alert at once (e.g. socialjour).")
    language: str | None = Field(default=None, description="ISO code of the language the text is written in.")

    @property
    def topic_confidence(self) -> float:
        return self.topic_probabilities[self.topic]

    @property
    def urgency_confidence(self) -> float:
        return self.urgency_probabilities[self.urgency]


class RoutingDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    queue: str
    priority: int = Field(description="1 is the most urgent.")
    sla_hours: float
    needs_review: bool
    mapping_version: str
    trace: list[str] = Field(description="Human-readable reasons, in the order the rules applied.")
    # What the decision was made from, so a handler (and an audit) can replay it.
    department: str | None = None
    restricted: bool = Field(default=False, description="Sensitive topic: only the owning department may see it.")
    referral: str | None = Field(default=None, description="The external authority suggested for a referral.")
    after_hours: bool = False
    instructions: list[str] = Field(default_factory=list, description="What to do now for each red-flag alert.")
    rule_hits: list[str] = Field(default_factory=list, description="Ids of the routing rules that fired.")
    thresholds: dict[str, float] = Field(default_factory=dict)
    prediction_summary: dict[str, object] = Field(default_factory=dict, description="The prediction routed on.")


class Case(BaseModel):
    """An inquiry as case handlers see it: its state, prediction and routing."""

    id: str
    inquiry: Inquiry
    state: CaseState
    prediction: Prediction | None = None
    routing: RoutingDecision | None = None
