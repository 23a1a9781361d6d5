# socdrill — the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test bench lint fmt e2e vendor venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,e2e,postgres,redis,server]'
	touch $(STAMP)

venv: $(STAMP)

## Set everything up and start the platform (SQLite, one process, demo organisation).
run: $(STAMP)
	$(BIN)/socdrill init --if-empty
	$(BIN)/socdrill demo --if-empty
	$(BIN)/socdrill serve --host $(HOST) --port $(PORT)

## Set everything up and run every test.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Print the performance figures of docs/performance.md (they print, never assert).
bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

vendor:
	bash static/vendor/fetch.sh

clean:
	rm -rf $(VENV) build *.egg-info
