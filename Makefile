# Accord: `make demo` sets everything up and serves the console; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test check format venv chromium serve clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Accord needs Python >= 3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Browser tests drive Debian's Chromium (never a downloaded browser).
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing Debian's chromium package for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		APT="$$SUDO apt-get -o DPkg::Lock::Timeout=600"; \
		$$APT update -qq && DEBIAN_FRONTEND=noninteractive $$APT install -y -qq chromium; \
	fi

demo: venv
	$(BIN)/accord db upgrade
	ACCORD_BASE_URL=$${ACCORD_BASE_URL:-http://127.0.0.1:$(PORT)} $(BIN)/accord demo
	$(BIN)/accord serve --host 127.0.0.1 --port $(PORT) --demo-site

serve: venv
	$(BIN)/accord serve --host 127.0.0.1 --port $(PORT)

test: venv chromium
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

check: venv
	$(BIN)/ruff check accord tests
	$(BIN)/ruff format --check accord tests
	$(BIN)/mypy
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff format accord tests
	$(BIN)/ruff check --fix accord tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
