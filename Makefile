# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The upstream CRD schemas used to validate output; override with MODELOPS_CRD_DIR.
MODELOPS_CRD_DIR ?= $(firstword $(wildcard schemas/crds ../shared/crds))
export MODELOPS_CRD_DIR

.PHONY: run test lint schema clean

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
	$(BIN)/ruff check compiler tests

schema: $(BIN)/modelops
	$(BIN)/modelops schema

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
