# Mingchu — two commands do everything on a fresh machine:
#   make demo   hub + one edge agent on embedded defaults (SQLite, files on disk, a bundled clip)
#   make test   every test, with the real broker, database, RTSP server and browser
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: demo test test-fast lint docs services system-deps clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[edge,hub,dev]'
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

system-deps:            ## Debian packages the tests use (RTSP server, browser, fonts); needs root
	bash scripts/system-deps.sh

services:               ## start Mosquitto and PostgreSQL when they are not already answering
	bash scripts/services.sh

demo: $(STAMP)
	bash scripts/demo.sh

test: $(STAMP) system-deps services train-env
	$(PY) -m pytest -q -p no:cacheprovider

test-fast: $(STAMP)     ## pure-logic tests only, no services
	$(PY) -m pytest -q -m "not slow and not mqtt and not postgres and not rtsp and not browser and not train"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check mingchu edge_agent
	$(VENV)/bin/mypy edge_agent cloud_api mingchu   # strict on the contract, config and taxonomy (pyproject)

docs: $(STAMP)          ## regenerate the contract JSON Schema and the config reference
	$(PY) -m mingchu.contract.schema docs/contract
	$(PY) -m mingchu.docs

clean:
	rm -rf $(VENV) .pytest_cache var

-include mk/*.mk
