"""Domain and data path of kommun-triage: ingestion, cleaning, redaction, routing and the case store."""
