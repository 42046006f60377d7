# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The upstream CRD schemas used to validate output; override with MODELOPS_CRD_DIR.
MODELOPS_CRD_DIR ?= $(abspath $(firstword $(wildcard schemas/crds ../shared/crds)))
export MODELOPS_CRD_DIR

.PHONY: run test lint schema readme-rules clean bench

$(BIN)/modelops: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.test-extras: $(BIN)/modelops
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

run: $(BIN)/modelops
	$(BIN)/modelops validate
	$(BIN)/modelops compile

test: $(VENV)/.test-extras
	$(BIN)/python -m pytest

lint: $(VENV)/.test-extras
	$(BIN)/ruff check compiler tests bench

schema: $(BIN)/modelops
	$(BIN)/modelops schema

# The README's table of checks, from the rule registry (modelops/codes.py).
readme-rules: $(BIN)/modelops
	$(BIN)/python -c "from pathlib import Path; from modelops.codes import with_table; \
	p = Path('README.md'); p.write_text(with_table(p.read_text()))"

# Speed against Kapitan (own venv in bench/) and the floor; BENCH_ARGS="--n 100 --repeat 1" runs small.
KAPITAN := bench/.venv-kapitan/bin/kapitan
$(KAPITAN):
	-$(PYTHON) -m venv bench/.venv-kapitan && bench/.venv-kapitan/bin/pip install --quiet 'kapitan==0.36.3'

bench: $(BIN)/modelops $(KAPITAN)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
