# Two commands a person needs: `make serve` and `make test`.
# Each sets up .venv on first use (Python deps pinned in requirements-dev.txt) and reuses it after.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
READY  := $(VENV)/.ready-$(shell cat requirements-dev.txt tools/pyproject.toml | cksum | cut -d' ' -f1)

CONFIG ?= cortex.yaml
API    ?=
PORT   ?=
HOST   ?= 127.0.0.1
THREADS ?=
WORKERS ?=

.PHONY: test serve check bench lint model clean wrk

$(READY): requirements-dev.txt tools/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e tools
	rm -f $(VENV)/.ready-* && touch $@

# PYTEST_ARGS selects tests, e.g. make test PYTEST_ARGS="-k once_per_thread"; a selection
# that matches nothing (pytest's exit 5) says so and is not a failure.
test: $(READY) wrk lint check
	@$(PY) -m pytest $(PYTEST_ARGS) || { rc=$$?; \
	  if [ $$rc = 5 ] && [ -n "$(strip $(PYTEST_ARGS))" ]; then echo "no test matches: $(PYTEST_ARGS)"; \
	  else exit $$rc; fi; }

# The load generator of the benchmarks (and of their test): Debian's wrk.
wrk:
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing wrk (apt-get install wrk)"; \
	    apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
	  else \
	    echo "wrk is missing: run 'sudo apt-get install wrk' (Debian/Ubuntu) or 'brew install wrk'"; \
	    exit 1; \
	  fi; }

lint: $(READY)
	$(PY) -m ruff check .
	$(VENV)/bin/vermin --quiet --no-tips --violations -t=3.6- predictor.py

SERVE_ARGS = --config "$(CONFIG)" --host "$(HOST)" $(if $(API),--api "$(API)") \
	$(if $(PORT),--port "$(PORT)") $(if $(THREADS),--threads "$(THREADS)") \
	$(if $(WORKERS),--workers "$(WORKERS)")

# Serve one API of CONFIG as a cluster replica runs it (README: Running locally).
serve: $(READY)
	$(PY) -m cortex_tools.runtime $(strip $(SERVE_ARGS))

# Check configs with Cortex 0.17's rules plus the template's own, before `cortex deploy`.
# `make check` checks every cortex*.yaml; `make check CONFIG="a.yaml b.yaml"` the files named.
check: $(READY)
	$(PY) -m cortex_tools.config_check $(if $(filter command line environment,$(origin CONFIG)),$(CONFIG))

# Measure strategies, model, HTTP floors and the served API: writes
# $(BENCH_OUT)/{report.md,summary.json,*.png}; QUICK=1: fewer repeats, under 2 minutes.
# bench/results is yours (git ignores it); the committed reference is example/bench-reference.
BENCH_OUT ?= bench/results
bench: $(READY) wrk
	$(PY) -m cortex_tools.bench --out $(BENCH_OUT) $(if $(QUICK),--quick)

# Re-create model/ from example/iris.csv (deterministic).
model: $(READY)
	$(PY) example/export_model.py --data example/iris.csv --out model

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
