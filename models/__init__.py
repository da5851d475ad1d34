"""ML code of kommun-triage: classifiers, training and evaluation (no orchestration, one tracking module)."""
