"""The one text preparation that every model applies, at training and at inference alike."""

from __future__ import annotations

from pipeline.cleaning import clean_body
from pipeline.redact import redact


def prepare_text(channel: str, subject: str | None, body: str) -> str:
    """Cleaned, redacted subject and body with a channel marker: what a classifier reads."""
    parts = [f"[{channel}]"]
    if subject and subject.strip():
        parts.append(redact(subject.strip()))
    parts.append(redact(clean_body(body)))
    return "\n".join(parts)
