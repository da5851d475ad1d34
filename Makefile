# Two commands do all set-up: `make demo` (install + the whole product on embedded defaults) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test install lint clean

$(STAMP): pyproject.toml
	@echo "Creating the virtual environment in $(VENV) and installing kommun-triage (first run only, a few minutes)…"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --progress-bar on "torch==2.13.0"
	$(VENV)/bin/pip install --progress-bar on -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/triage model prepare
	$(VENV)/bin/triage demo

test: $(STAMP)
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check pipeline models flows tests bench

clean:
	rm -rf var
