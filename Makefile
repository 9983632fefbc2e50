# Two commands a person needs: `make serve` and `make test`.
# Each sets up .venv on first use (Python deps pinned in requirements-dev.txt) and reuses it after.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
READY  := $(VENV)/.ready-$(shell cksum < requirements-dev.txt | cut -d' ' -f1)

CONFIG ?= cortex.yaml
API    ?=
PORT   ?=
HOST   ?= 127.0.0.1
THREADS ?=
WORKERS ?=

.PHONY: test serve check bench lint model clean

$(READY): requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.ready-* && touch $@

test: $(READY) lint check
	$(PY) -m pytest

lint: $(READY)
	$(PY) -m ruff check .
	$(VENV)/bin/vermin --quiet --no-tips --violations -t=3.6- predictor.py

SERVE_ARGS = --config "$(CONFIG)" --host "$(HOST)" $(if $(API),--api "$(API)") \
	$(if $(PORT),--port "$(PORT)") $(if $(THREADS),--threads "$(THREADS)") \
	$(if $(WORKERS),--workers "$(WORKERS)")

# Serve one API of CONFIG as a cluster replica runs it (README: Running locally).
serve: $(READY)
	$(PY) scripts/serve.py $(strip $(SERVE_ARGS))

# Check configs with Cortex 0.17's rules plus the template's own, before `cortex deploy`.
# `make check` checks every cortex*.yaml; `make check CONFIG="a.yaml b.yaml"` the files named.
check: $(READY)
	$(PY) scripts/check_config.py $(if $(filter command line environment,$(origin CONFIG)),$(CONFIG))

# Re-create model/ from data/iris.csv (deterministic).
model: $(READY)
	$(PY) scripts/export_model.py --data data/iris.csv --out model

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
