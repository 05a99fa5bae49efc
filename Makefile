# Every routine task has a target. `make demo` and `make test` set everything up on a fresh
# machine (only Python >= 3.10 and make needed): they create .venv and install what is missing.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format bench bench-nextcloud bench-floor clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project's metadata changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rcwiz demo

test: $(STAMP)
	$(BIN)/ruff check rcwiz tests benchmarks
	$(BIN)/ruff format --check --quiet rcwiz tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check rcwiz tests benchmarks
	$(BIN)/ruff format --check rcwiz tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format rcwiz tests benchmarks
	$(BIN)/ruff check --fix rcwiz tests benchmarks

# Every speed and memory goal: rcwiz's overhead on loopback, then rclone against rcwiz on the
# real Nextcloud of ../shared/nextcloud behind a 30 ms proxy, then rcwiz against the floor and
# its peers on both servers (the suite's and the production-like one; about 90 minutes in all).
bench: $(STAMP)
	$(BIN)/python benchmarks/copy_overhead.py
	$(BIN)/python benchmarks/nextcloud_speed.py --tree $(BENCH_ARGS)
	$(BIN)/python benchmarks/floor_speed.py --slow-seconds 150

# rcwiz against the floor, tuned rclone and nextcloudcmd on both servers (about 40 minutes).
bench-floor: $(STAMP)
	$(BIN)/python benchmarks/floor_speed.py --slow-seconds 150 $(BENCH_ARGS)

# The Nextcloud table alone; make bench-nextcloud BENCH_ARGS=--quick for about two minutes.
bench-nextcloud: $(STAMP)
	$(BIN)/python benchmarks/nextcloud_speed.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
