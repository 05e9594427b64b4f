# stockstream: `make help` lists the targets. Everything installs into the checkout:
# .venv/ (Python), .cache/jars/ (JVM jars resolved by Maven), var/ (all runtime state).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
JARS_STAMP := .cache/jars/.resolved
INSTALL_STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
CHAOS_ARGS ?=

.PHONY: help install jars lock up down status demo bench chaos test test-unit test-integration test-dags test-chaos test-e2e lint clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(INSTALL_STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON_BOOT) >/dev/null || { echo "error: $(PYTHON_BOOT) not found; install Python 3.11 or run make PYTHON_BOOT=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON_BOOT) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	@touch $@

install: $(INSTALL_STAMP) ## Create .venv and install the locked Python packages and stockstream

$(JARS_STAMP): jvm/pom.xml jvm/broker/pom.xml jvm/spark/pom.xml jvm/tools/pom.xml
	@command -v java >/dev/null || { echo "error: java not found; install a JDK 17 (e.g. apt-get install openjdk-17-jdk-headless)"; exit 1; }
	@command -v mvn >/dev/null || { echo "error: mvn not found; install Maven (e.g. apt-get install maven)"; exit 1; }
	@rm -rf .cache/jars/broker .cache/jars/spark .cache/jars/tools
	@mvn -B -q -f jvm/pom.xml package > .cache/maven.log 2>&1 || { \
	  grep -E "ERROR|Could not" .cache/maven.log | head -5; \
	  echo "error: Maven could not resolve the JVM dependencies named above (full log: .cache/maven.log)."; \
	  echo "  Check that Maven Central is reachable (proxy settings in ~/.m2/settings.xml), or change the"; \
	  echo "  version in jvm/pom.xml to one that is served, then run make jars again."; exit 1; }
	@touch $@
	@echo "jars resolved into .cache/jars/ (broker: $$(ls .cache/jars/broker | wc -l), spark: $$(ls .cache/jars/spark | wc -l), tools: $$(ls .cache/jars/tools | wc -l))"

jars: ## Resolve the broker's and Spark's jars with Maven into .cache/jars (once; offline after)
	@mkdir -p .cache
	@$(MAKE) --no-print-directory $(JARS_STAMP)

lock: ## Re-resolve requirements.txt from requirements.in (Python 3.11)
	$(BIN)/uv pip compile --quiet --python-version 3.11 requirements.in -o requirements.txt

up: install jars ## Start Kafka, the stream, the dashboard and Airflow (waits until healthy)
	$(BIN)/stockstream up

down: ## Stop every local service
	@if [ -x $(BIN)/stockstream ]; then $(BIN)/stockstream down; else echo "nothing installed, nothing running"; fi

status: install ## Show the services, their URLs, the Airflow login
	$(BIN)/stockstream status

demo: install jars ## Set up, start the services, backfill the last trading days through Airflow (charts + report)
	@bash scripts/demo.sh

bench: install jars ## Benchmarks (results go in BENCHMARKS.md): replay, stream, one day end to end
	$(BIN)/stockstream bench $(BENCH_ARGS)

chaos: install jars ## Fault injection on the real broker, stream and lakehouse; figures into RELIABILITY.md
	$(BIN)/stockstream chaos --report RELIABILITY.md $(CHAOS_ARGS)

lint: install ## ruff and mypy
	$(BIN)/ruff check src tests dags jobs plugins benchmarks notebooks
	$(BIN)/ruff format --check src tests dags jobs plugins benchmarks notebooks
	$(BIN)/mypy

test: install jars lint ## Install everything and run every test (unit, dags, integration, e2e)
	bash scripts/run-tests.sh $(PYTEST_ARGS)

test-unit: install jars ## Unit tests only
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-integration: install jars ## Integration tests (real broker, Spark, Delta)
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

test-dags: install ## DAG integrity tests
	$(BIN)/pytest tests/dags $(PYTEST_ARGS)

test-chaos: install jars ## The chaos scenarios in their reduced, seeded form
	$(BIN)/pytest tests/chaos $(PYTEST_ARGS)

test-e2e: install jars ## End-to-end tests (make demo in an isolated data root)
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

clean: down ## Stop services and remove var/ (all local data)
	rm -rf var
