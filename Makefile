# RadSurv set-up: `make run` serves the app, `make test` runs the test suite.
# Both create .venv and install everything on first use; later calls reuse it (the stamp file
# is rebuilt only when requirements.txt changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements
PORT ?= 8501
# pyradiomics builds from source against the installed numpy, so numpy and the build tools go first.
BUILD_PINS := $(shell grep -E '^(numpy|setuptools|wheel)==' requirements.txt)
TORCH_PIN := $(shell grep -E '^torch==' requirements.txt)
RADIOMICS_PIN := $(shell grep -E '^pyradiomics==' requirements.txt)

.PHONY: install demo run test lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(TORCH_PIN)
	$(BIN)/pip install $(BUILD_PINS)
	$(BIN)/pip install --no-build-isolation $(RADIOMICS_PIN)
	$(BIN)/pip install -r requirements.txt
	$(BIN)/pip install --no-build-isolation --no-deps -e .
	$(BIN)/pip check
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python -m survival_core prepare-demo

run: demo
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check survival_core app.py pages tests benchmarks
