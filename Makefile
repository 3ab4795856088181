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

# Installs Mosquitto if missing (root with apt-get), lints, type-checks (the firmware against the
# MicroPython stubs too: scripts/check-firmware.sh), runs the whole suite.
test: $(STAMP)
	bash scripts/ensure-mosquitto.sh
	bash scripts/ensure-dicom-tools.sh
	bash scripts/ensure-chromium.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	BIN=$(BIN) bash scripts/check-firmware.sh
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && BIN=$(BIN) bash scripts/check-firmware.sh

# Every benchmark, repeated, in one summary table (median [min–max]); figures in docs/performance.md.
bench: $(STAMP)
	bash scripts/ensure-mosquitto.sh
	$(BIN)/python bench/summary.py --repeats 3

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .firmware-stubs
