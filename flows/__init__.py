"""Prefect flows and the `triage` CLI: thin wiring over pipeline/ and models/."""
