# On a fresh machine `make run` and `make test` are the only commands needed: each creates or refreshes
# the project-local .venv by itself (tradebot, its dev tools and the broker plugins under plugins/).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))
PLUGIN_META := $(wildcard plugins/*/pyproject.toml)
CONSTRAINTS := constraints.txt
EDITABLES := -e '.[dev,research]' $(foreach d,$(PLUGIN_DIRS),-e '$(d)[test]')

.PHONY: install run test lint bench bench-peers soak constraints clean

# pip prints each package it collects and installs (a progress bar on a terminal); constraints.txt pins
# every version to the set CI tested (refresh it with `make constraints`).
$(STAMP): pyproject.toml $(PLUGIN_META) $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -c $(CONSTRAINTS) $(EDITABLES)
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/tradebot run --mode observe

test: $(STAMP)
	$(BIN)/pytest tests $(PLUGIN_DIRS)

lint: $(STAMP)
	$(BIN)/ruff check src tests plugins bench
	$(BIN)/mypy
	$(foreach d,$(PLUGIN_DIRS),$(BIN)/mypy --strict $(d)/src &&) true

# Many kill-and-restart trials on real data (tests/faults/soak.py); prints each trial and the tally.
soak: $(STAMP)
	$(BIN)/python tests/faults/soak.py --trials $(or $(TRIALS),60)

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-peers: $(STAMP)
	$(BIN)/python -m bench.peers

# Rewrite constraints.txt with the newest versions the pyproject.toml files allow, resolved in a throw-away
# venv (the project's .venv is left alone); then `make clean test` installs and tests exactly those.
constraints:
	rm -rf $(VENV)-constraints
	$(PYTHON) -m venv $(VENV)-constraints
	$(VENV)-constraints/bin/python -m pip install --upgrade pip
	$(VENV)-constraints/bin/python -m pip install $(EDITABLES)
	sed -n '/^#/p' $(CONSTRAINTS) > $(CONSTRAINTS).new
	$(VENV)-constraints/bin/python -m pip freeze --exclude-editable >> $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf $(VENV)-constraints

clean:
	rm -rf $(VENV) runs build dist .mypy_cache .ruff_cache .pytest_cache
