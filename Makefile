# Two commands: `make train` (main job on embedded defaults) and `make test` (lint, types, tests).
# Each creates ./.venv on first use and installs the project with the local CPU build of torch,
# every package at the version constraints.txt pins (the versions the tests passed with).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup train test lint bench figures clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned to the CPU wheel pip finds locally, so nothing pulls CUDA packages.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[all,dev]"
	@if $(PY) -m pip list 2>/dev/null | grep -qi nvidia; then echo "CUDA packages were installed" >&2; exit 1; fi
	touch $(STAMP)

train: $(STAMP)
	$(PY) train.py env=lte agent=ppo $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy artic_rl envs agents
	$(PY) scripts/check_layers.py

test: lint
	$(PY) -m pytest -q $(ARGS)

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# docs/img/*.png from the evaluate.py runs in scripts/figures.py (tens of CPU-minutes; not in `make test`)
figures: $(STAMP)
	$(PY) scripts/figures.py $(ARGS)

clean:
	rm -rf $(VENV) outputs multirun wandb .mypy_cache .ruff_cache .pytest_cache
