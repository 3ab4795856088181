# The two commands a newcomer needs:  make demo   and   make test
# Each creates its own virtual environment (.venv) from pyproject.toml.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/doseedge demo

# Installs Mosquitto and headless Chromium if missing (root with apt-get), lints, type-checks,
# runs the whole suite (tests/web/ drive the operator view in Chromium).
test: $(STAMP)
	bash scripts/ensure-mosquitto.sh
	bash scripts/ensure-chromium.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

bench: $(STAMP)
	bash scripts/ensure-mosquitto.sh
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/store.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
