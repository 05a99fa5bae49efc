# Every routine task has a target (`make help` lists them). `make demo` and `make test` set
# everything up on a fresh machine (only Python >= 3.10 and make needed): they create .venv
# and install what is missing.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help demo test lint format bench bench-nextcloud bench-review bench-floor bench-verify bench-startup bench-fixed bench-scale bench-resume bench-resume-down clean

## help: this list of targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project's metadata changes. setuptools says "Editable installation ...
# folders with the same name as your package" for every editable install that maps a folder
# (templates/ -> rcwiz.templates): information for its own developers, not ours, so it is
# filtered by its message (other warnings still show).
$(STAMP): pyproject.toml | $(BIN)/python
	PYTHONWARNINGS='ignore:Editable installation' $(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## demo: set up .venv and run `rcwiz demo` (a copy to a local WebDAV server, no account)
demo: $(STAMP)
	$(BIN)/rcwiz demo

# The suite runs on two workers (pytest-xdist): much of it waits on servers and rclone, and
# each worker has its own servers. The production-like Nextcloud's tests go to one worker
# together (--dist loadgroup), so it is started once. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2

## test: ruff, mypy and the whole test suite (what CI runs)
test: $(STAMP)
	$(BIN)/ruff check rcwiz tests benchmarks
	$(BIN)/ruff format --check --quiet rcwiz tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

## lint: ruff and mypy only
lint: $(STAMP)
	$(BIN)/ruff check rcwiz tests benchmarks
	$(BIN)/ruff format --check rcwiz tests benchmarks
	$(BIN)/mypy

## format: reformat and fix what ruff can
format: $(STAMP)
	$(BIN)/ruff format rcwiz tests benchmarks
	$(BIN)/ruff check --fix rcwiz tests benchmarks

# Every speed and memory goal: rcwiz's overhead on loopback, then rclone against rcwiz on the
# real Nextcloud of ../shared/nextcloud behind a 30 ms proxy, then rcwiz against the floor and
# its peers on both servers (the suite's and the production-like one), then rcwiz check against
# rclone check --download, then a 1 GB download and a 1 GB upload stopped at 70 % and run
# again. About 110 minutes in all, from each step's own figure (benchmarks/README.md and the
# targets below): copy_overhead 8, fixed_cost 2, nextcloud_speed 10, its 1 GB cases on the
# production-like server about 20 (an estimate), floor_speed 40, verify_speed 10,
# resume_download 10, resume_upload 10.
## bench: every speed and memory goal, rclone against rcwiz, the floor and peers, check, resume (about 110 minutes)
bench: $(STAMP)
	$(BIN)/python benchmarks/copy_overhead.py
	$(BIN)/python benchmarks/fixed_cost.py
	$(BIN)/python benchmarks/nextcloud_speed.py --tree $(BENCH_ARGS)
	$(BIN)/python benchmarks/nextcloud_speed.py --server prod --only upload-big,upload-big-cap,download-big,download-big-cap
	$(BIN)/python benchmarks/floor_speed.py --slow-seconds 150
	$(BIN)/python benchmarks/verify_speed.py
	$(BIN)/python benchmarks/resume_download.py
	$(BIN)/python benchmarks/resume_upload.py

# rcwiz against the floor, tuned rclone and nextcloudcmd on both servers (about 40 minutes).
## bench-floor: rcwiz against the floor, tuned rclone and nextcloudcmd, both servers (about 40 minutes)
bench-floor: $(STAMP)
	$(BIN)/python benchmarks/floor_speed.py --slow-seconds 150 $(BENCH_ARGS)

# rcwiz usage and review of a 10^5-file account (goal: under 10 s); the server's indexing of
# the files takes most of the half hour.
## bench-review: usage and review of a 10^5-file account (about 25 minutes, mostly indexing)
bench-review: $(STAMP)
	$(BIN)/python benchmarks/nextcloud_review.py $(BENCH_ARGS)

# The Nextcloud table alone; make bench-nextcloud BENCH_ARGS=--quick for about two minutes.
## bench-nextcloud: the Nextcloud speed table alone (BENCH_ARGS=--quick: about two minutes)
bench-nextcloud: $(STAMP)
	$(BIN)/python benchmarks/nextcloud_speed.py $(BENCH_ARGS)

# rcwiz check against rclone check --download (1000 x 2 kB, 30 ms; about 10 minutes).
## bench-verify: rcwiz check against rclone check --download (about 10 minutes)
bench-verify: $(STAMP)
	$(BIN)/python benchmarks/verify_speed.py $(BENCH_ARGS)

# The CPU time of rcwiz --version, --help, copy --help and rcwiz alone, median of 20 each, of a
# wheel in a fresh venv (goal: under 60 ms for the first two); BENCH_ARGS="--baseline GIT-REF"
# times rcwiz as it was at that commit interleaved with this one.
## bench-startup: start-up CPU of --version, --help, copy --help and rcwiz alone (about a minute)
bench-startup: $(STAMP)
	$(BIN)/python benchmarks/startup.py $(BENCH_ARGS)

# A 1-byte copy, raw rclone and rcwiz alternating, 20 rounds: the time before rclone starts and
# after it ends (goal: rcwiz's minus raw's <= 80 ms).
## bench-fixed: rcwiz's fixed cost around a copy, before rclone starts and after it ends (about two minutes)
bench-fixed: $(STAMP)
	$(BIN)/python benchmarks/fixed_cost.py $(BENCH_ARGS)

# A 10^5-file tree on the real Nextcloud: rcwiz against rclone copy for a re-run with nothing to
# do, with 1 % changed, and the listing, in time and peak RSS (the indexing takes most of it).
## bench-scale: a 10^5-file tree, re-runs and the listing against rclone (about 30 minutes, mostly indexing)
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/scale.py $(BENCH_ARGS)

## bench-resume-down: a 1 GB download interrupted at 70 % (SIGTERM, SIGKILL) and re-run, rcwiz against rclone (about 10 minutes)
bench-resume-down: $(STAMP)
	$(BIN)/python benchmarks/resume_download.py $(BENCH_ARGS)

# A 1 GB upload stopped at 70 % by SIGTERM and by SIGKILL, then run again: the bytes the re-run
# moves, rcwiz against rclone (30 ms; about 10 minutes; BENCH_ARGS=--quick: a 500 MB file).
## bench-resume: a 1 GB upload stopped at 70 % and run again, rcwiz against rclone (about 10 minutes)
bench-resume: $(STAMP)
	$(BIN)/python benchmarks/resume_upload.py $(BENCH_ARGS)

## clean: remove .venv, build output and every cache (pytest, ruff, mypy, hypothesis, __pycache__)
clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
