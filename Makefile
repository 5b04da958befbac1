# The two commands a newcomer runs: `make dev` (the whole system) and `make test` (the suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: dev test lint system-deps kafka-jars postgres clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

# Java 17 and Maven fetch and run the Kafka broker; curl runs the README's examples and
# Chromium the console's browser tests and screenshots. Installed from Debian when missing.
system-deps:
	@command -v java >/dev/null && command -v mvn >/dev/null && command -v curl >/dev/null \
	  && command -v chromium >/dev/null || \
	  { $(SUDO) apt-get update -q && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    openjdk-17-jre-headless maven curl chromium chromium-driver; }

kafka-jars: $(VENV)/.installed system-deps
	$(PY) -m ampm.local.kafka fetch

postgres: $(VENV)/.installed
	$(PY) -m ampm.local.postgres install

dev: kafka-jars
	$(VENV)/bin/ampm dev

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: kafka-jars postgres lint
	$(PY) -m pytest

clean:
	rm -rf $(VENV) ampm.db ampm.db-wal ampm.db-shm .pytest_cache .mypy_cache .ruff_cache
