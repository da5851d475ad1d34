"""The case handlers' web app and REST API (see app.py)."""
