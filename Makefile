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

## Regenerate docs/realism.md: the whole SigmaHQ corpus over every bundled scenario,
## and over a whole day of benign noise of a 50-host organisation (one window per
## hour; NOISE_WINDOW=10 samples ten minutes of each hour for a quicker run).
SIGMAHQ      ?= ../shared/realworld/sigmahq-rules
NOISE_WINDOW ?= 60
.PHONY: realism
realism: $(STAMP)
	$(BIN)/socdrill rules realism $(SIGMAHQ) --noise-day --noise-every 1 \
		--noise-window $(NOISE_WINDOW) --markdown docs/realism.md

## Live updates and the console under load (bounded, loopback only); prints figures.
## Scaled by default; LOADTEST_ARGS=--embedded for one `socdrill serve` on SQLite.
.PHONY: loadtest
loadtest: $(STAMP)
	$(BIN)/python -m bench.loadtest $(LOADTEST_ARGS)
