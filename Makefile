# Two commands set up everything: `make demo` and `make test` (both install first).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lock lock-check demo test test-fast lint format messages postgres seaweedfs chromium bench clean

install: $(STAMP)

# Everything comes from requirements.lock at exact versions, without resolving anything anew;
# the project itself goes in last, editable, with no dependencies of its own to fetch.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --no-deps -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

# Refresh the lock on purpose (keeps every pin that still fits pyproject.toml).
lock: install
	scripts/lock.sh compile

lock-check: install
	scripts/lock.sh check

demo: install
	$(BIN)/lorabot demo --data-dir var

# New texts of the bots into each language's .po file (to translate), unused ones out.
messages: install
	$(BIN)/python -m bots.catalog

postgres:
	@scripts/postgres.sh start >/dev/null

seaweedfs: install
	@scripts/seaweedfs.sh start >/dev/null

chromium:
	@scripts/chromium.sh >/dev/null

test: install postgres seaweedfs chromium lock-check
	LORABOT_TEST_POSTGRES_URL=$$(scripts/postgres.sh start) \
	LORABOT_TEST_S3_URL=$$(scripts/seaweedfs.sh start) \
	LORABOT_TEST_CHROMIUM=$$(scripts/chromium.sh) \
	$(BIN)/pytest -q -p no:cacheprovider
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-fast: install
	$(BIN)/pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python benchmarks/bench_trainer.py
	$(BIN)/python benchmarks/bench_queue.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
