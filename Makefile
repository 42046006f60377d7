# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast lint schema readme-rules docs-pages schemas-bundle clean bench bench-predictions bench-lsp

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
	$(BIN)/python -m pytest -n auto

# The fast lane: no wheel builds, servers or long hypothesis runs (tests marked slow).
test-fast: $(VENV)/.test-extras
	MODELOPS_HYPOTHESIS_EXAMPLES=10 $(BIN)/python -m pytest -m "not slow" -n 2

WORKFLOWS := $(wildcard .github/workflows/*.yml)

lint: $(VENV)/.test-extras
	$(BIN)/ruff check compiler tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/actionlint $(WORKFLOWS)
	$(BIN)/zizmor --offline --no-progress --persona auditor $(WORKFLOWS) action.yml
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir "$$(mktemp -d)"
	@dist="$$(mktemp -d)" && $(BIN)/python -m build --quiet --outdir "$$dist" . >/dev/null \
	  && $(BIN)/twine check --strict "$$dist"/* && $(BIN)/check-wheel-contents "$$dist"/*.whl \
	  && rm -rf "$$dist"

schema: $(BIN)/modelops
	$(BIN)/modelops schema

# The docs pages made from the code: the rules table and one page per rule (modelops/codes.py), the
# key-by-key reference of the model file and modelops.yaml (the JSON Schemas). The tests check them.
docs-pages: $(BIN)/modelops
	$(BIN)/python compiler/tools/docs_pages.py

readme-rules: docs-pages

# Regenerate the CRD and Kubernetes schemas modelops ships from UPSTREAM, a folder of the upstream
# CRDs' openAPIV3Schema files (see compiler/tools/bundle_schemas.py); CHECK=1 only reports stale files.
schemas-bundle: $(BIN)/modelops
	$(if $(UPSTREAM),,$(error set UPSTREAM=DIR, the folder of upstream CRD schemas))
	$(BIN)/pip install --quiet 'kubernetes-validate==1.37.0'
	$(BIN)/python compiler/tools/bundle_schemas.py --upstream $(UPSTREAM) $(if $(CHECK),--check)

# Speed against Kapitan (own venv in bench/) and the floor; BENCH_ARGS="--n 100 --repeat 1" runs small.
KAPITAN := bench/.venv-kapitan/bin/kapitan
$(KAPITAN):
	-$(PYTHON) -m venv bench/.venv-kapitan && bench/.venv-kapitan/bin/pip install --quiet 'kapitan==0.36.3'

bench: $(BIN)/modelops $(KAPITAN)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The prediction path: collector events/s and p99 acknowledgement, compare over 10M stored rows.
bench-predictions: $(BIN)/modelops
	$(BIN)/python bench/predictions.py $(BENCH_ARGS)

# The language server: diagnostics latency after a change at 1,000 models (goal 50 ms); BENCH_ARGS="--n 100".
bench-lsp: $(BIN)/modelops
	$(BIN)/python bench/lsp.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
