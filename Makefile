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
CHROMIUM := /usr/bin/chromium

.PHONY: install demo run test lint browser

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
	$(BIN)/python -m survival_core serve --port $(PORT)

# The browser test (tests/test_browser.py) drives Debian's chromium through playwright; it never
# downloads a browser (`playwright install`). Installed with apt-get when missing.
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; \
	  elif command -v sudo >/dev/null 2>&1; then sudo=sudo; \
	  else echo "error: $(CHROMIUM) is missing; install Debian's chromium and chromium-driver as root (apt-get install chromium chromium-driver), then rerun make" >&2; exit 1; fi; \
	  echo "Installing Debian's chromium and chromium-driver (for the browser test)..."; \
	  $$sudo apt-get update -q && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver; \
	  test -x $(CHROMIUM) || { echo "error: could not install chromium with apt-get ($(CHROMIUM) is still missing); install the Debian packages chromium and chromium-driver, then rerun make" >&2; exit 1; }; \
	}

# The suite in two parts: the test files spread over TEST_WORKERS processes (pytest-xdist, a
# file's tests on one worker; the files marked `heavy` first, longest first, so the short ones
# fill in around them), then the `serial` one alone (the 8-session load test needs the whole
# machine). Both parts always run; `make test` fails if either failed. A plain `pytest` still
# runs everything in one process.
TEST_WORKERS ?= 2
test: install browser
	@status=0; \
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not serial" || status=1; \
	$(BIN)/python -m pytest -q -m serial || status=1; \
	exit $$status

lint: install
	$(BIN)/ruff check survival_core app.py pages tests benchmarks
