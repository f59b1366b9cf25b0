# Two commands for a fresh machine:  `make lab` (learn)  and  `make test` (check everything).
# Both create .venv with Python 3.11, install the course into it, and find or fetch MNIST.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: lab test test-fast data lessons clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

data: $(VENV)/.installed
	$(BIN)/python -m mnist_ref data

# jupyter-config/ (landing page, no news prompt, the course's kernel) is read before ~/.jupyter.
lab: $(VENV)/.installed data
	JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter-config$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" $(BIN)/jupyter lab

# Everything, the slow real-data tests included, as CI runs it. Without MNIST (no network,
# no MNIST_DATA) the real-data tests skip, unless MNIST_REQUIRE_REAL=1 makes them fail.
test: $(VENV)/.installed
	$(BIN)/python -m mnist_ref data || echo "MNIST is not available: the real-data tests will be skipped."
	$(BIN)/python -m pytest -m ''

# Unit tests only (seconds): what `pytest` does by default.
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest

lessons: $(VENV)/.installed
	$(BIN)/python scripts/release_lessons.py

clean-venv:
	rm -rf $(VENV)
