# Every routine task has a target. `make demo` and `make test` set everything up on a fresh
# machine (only Python >= 3.10 and make needed): they create .venv and install what is missing.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format bench bench-nextcloud bench-verify clean

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
# real Nextcloud of ../shared/nextcloud behind a 30 ms proxy, then rcwiz check against rclone
# check --download (about 50 minutes in all).
bench: $(STAMP)
	$(BIN)/python benchmarks/copy_overhead.py
	$(BIN)/python benchmarks/nextcloud_speed.py --tree $(BENCH_ARGS)
	$(BIN)/python benchmarks/verify_speed.py

# The Nextcloud table alone; make bench-nextcloud BENCH_ARGS=--quick for about two minutes.
bench-nextcloud: $(STAMP)
	$(BIN)/python benchmarks/nextcloud_speed.py $(BENCH_ARGS)

# rcwiz check against rclone check --download (1000 x 2 kB, 30 ms; about 10 minutes).
bench-verify: $(STAMP)
	$(BIN)/python benchmarks/verify_speed.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
