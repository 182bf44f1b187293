# Two commands set up everything: `make demo` and `make test` (both install first).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0

.PHONY: install demo test test-fast lint format postgres bench clean

install: $(STAMP)

# torch goes in first, then everything else under a constraint that keeps that exact build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	echo "$(TORCH)" > $(VENV)/constraints.txt
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e '.[train,telegram,discord,dev]'
	# The CLIP BPE vocabulary of the tiny model's tokenizer ships inside this wheel.
	$(BIN)/pip install -q -c $(VENV)/constraints.txt --no-deps open-clip-torch
	touch $@

demo: install
	$(BIN)/lorabot demo --data-dir var

postgres:
	@scripts/postgres.sh start >/dev/null

test: install postgres
	LORABOT_TEST_POSTGRES_URL=$$(scripts/postgres.sh start) $(BIN)/pytest -q -p no:cacheprovider
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
