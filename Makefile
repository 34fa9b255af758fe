# ContactPoint: the two commands are `make demo` and `make test` (README).
SHELL := /bin/bash
PYTHON := $(shell ./scripts/find-python)
VENV := .venv
BIN := $(VENV)/bin
STATIC := build/frontend
STATIC_SRC := src/contactpoint/web/static_src

.PHONY: demo test lint static venv clean

demo: $(VENV)/.installed-demo $(STATIC)/.built
	$(BIN)/contactpoint demo

test: $(VENV)/.installed-test $(STATIC)/.built
	$(BIN)/python scripts/run_tests.py

# ruff (pyflakes, pycodestyle, isort, bugbear, pyupgrade, imports at the top) and mypy with Django's stubs.
# The layering of the stages is a test (tests/test_layout.py), run by `make test`.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy

static: $(STATIC)/.built

venv: $(VENV)/.installed-demo

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	touch $@

$(VENV)/.installed-demo: $(VENV)/.created pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.created pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,spark,lint]'
	touch $@ $(VENV)/.installed-demo

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# GOV.UK Frontend from the npm registry, compiled with Sass; nothing third-party is committed built.
$(STATIC)/.built: node_modules/.installed $(wildcard $(STATIC_SRC)/*)
	mkdir -p $(STATIC)/govuk
	node_modules/.bin/sass --pkg-importer=node --no-source-map --style=compressed --quiet-deps \
	  $(STATIC_SRC)/application.scss $(STATIC)/application.css
	cp -R node_modules/govuk-frontend/dist/govuk/assets $(STATIC)/govuk/
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js $(STATIC)/govuk/
	cp $(STATIC_SRC)/application.mjs $(STATIC)/application.mjs
	touch $@

clean:
	rm -rf build node_modules $(VENV)
