# On a fresh machine `make run` and `make test` are the only commands needed: each creates or refreshes
# the project-local .venv by itself (tradebot, its dev tools and the broker plugins under plugins/).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))
PLUGIN_META := $(wildcard plugins/*/pyproject.toml)

.PHONY: install run test lint bench bench-peers clean

$(STAMP): pyproject.toml $(PLUGIN_META)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' $(foreach d,$(PLUGIN_DIRS),-e '$(d)[test]')
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

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-peers: $(STAMP)
	$(BIN)/python -m bench.peers

clean:
	rm -rf $(VENV) runs build dist .mypy_cache .ruff_cache .pytest_cache
