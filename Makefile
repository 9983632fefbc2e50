# Two commands a person needs: `make serve` and `make test` (README); `make setup` only sets up.
# Each sets up .venv on first use (the pinned requirements-dev.txt and the tools/ package,
# editable) and reuses it after; `make clean` removes it. `make test`, `make check` and
# `make bench` also set up .venv-image, the Cortex image's own stack (requirements-image.txt
# on a Python 3.6: PYTHON36=/path/to/python3.6, else python3.6 on PATH, else pyenv's), and
# run the uploaded code there too; without a Python 3.6 they say so and go on without it.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The tools need TensorFlow 2.21, whose wheels exist for Python 3.10 to 3.13.
PY_OK  := import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 13))
PY_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
# .venv is ready for these requirements and this Python; another Python makes it anew.
READY  := $(VENV)/.ready-$(shell cat requirements-dev.txt tools/pyproject.toml | cksum | cut -d' ' -f1)-$(PY_VERSION)

CONFIG ?= cortex.yaml
API    ?=
PORT   ?=
HOST   ?= 127.0.0.1
THREADS ?=
WORKERS ?=
SERVE_FLAGS ?=   # more runtime flags, e.g. SERVE_FLAGS="--max-body-size 16M" (README)

PYTHON36 ?=

.PHONY: setup test serve check lint bench expected model remove-example clean wrk image-stack convert

$(READY): requirements-dev.txt tools/pyproject.toml
	@$(PYTHON) -c '$(PY_OK)' 2>/dev/null || { \
	  echo "error: $(PYTHON) is $(if $(PY_VERSION),Python $(PY_VERSION),not found); the local tools need Python 3.10 to 3.13. Install one and point make at it, e.g. make test PYTHON=python3.12"; \
	  exit 1; }
	@if [ -x $(PY) ] && [ "$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$(PY_VERSION)" ]; then \
	  echo "$(VENV) was made by another Python: making it anew with $(PYTHON) ($(PY_VERSION))"; \
	  rm -rf $(VENV); fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "$(VENV): pip installs requirements-dev.txt into $(VENV): up to about 410 MB to download (tensorflow-cpu 2.21.0 is 262 MB of it), less what pip's cache holds"
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@# setuptools' warning about an editable install is for packages whose name shadows a
	@# folder of the working directory: tools/cortex_tools is imported from tools/ only.
	PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet --no-deps -e tools
	rm -f $(VENV)/.ready-* && touch $@

# .venv and .venv-image (when there is a Python 3.6), and nothing else: what every other
# target sets up on its first run.
setup: image-stack
	@echo "set up: $(VENV)$$(test -x .venv-image/bin/python && echo ' and .venv-image'); next: README, 'Put in your own model'"

# .venv-image: made once (about a minute), then reused; one line when there is no Python 3.6.
image-stack: $(READY)
	@$(PY) -m cortex_tools.image_stack setup $(if $(PYTHON36),--python "$(PYTHON36)")

# Every test on the local stack, then the uploaded code's tests on the image stack; the
# last lines give both stacks' counts. PYTEST_ARGS selects tests on both, e.g.
# make test PYTEST_ARGS="-k once_per_thread"; a selection that matches nothing says so.
test: $(READY) wrk lint image-stack check
	@$(PY) -m cortex_tools.image_stack test $(PYTEST_ARGS)

# The load generator of the benchmarks (and of their test in make test): Debian's wrk.
# Installed here, visibly, when missing and run as root; else the line says what to run.
wrk:
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "wrk is missing: installing it (apt-get install wrk)"; \
	    apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
	  else \
	    echo "error: wrk is missing (make bench and its test need it): run 'sudo apt-get install wrk' (Debian/Ubuntu) or 'brew install wrk'"; \
	    exit 1; \
	  fi; }

UPLOADED_PY := predictor.py tf_session.py
# What runs on the image stack besides: the tests of the uploaded code (less the files
# marked "# Local stack only:", which need the local tools) and the tools' modules for it.
IMAGE_STACK_PY := $(shell grep -L '^\# Local stack only:' tests/*.py tests/machinery/*.py \
	tests/template/*.py tests/image/*.py 2>/dev/null) $(wildcard tools/cortex_tools/image_stack/py36/*.py) \
	tools/cortex_tools/bench/timing.py

lint: $(READY)
	$(PY) -m ruff check .
	$(VENV)/bin/vermin --quiet --no-tips --violations -t=3.6- $(UPLOADED_PY) $(IMAGE_STACK_PY)

SERVE_ARGS = --config "$(CONFIG)" --host "$(HOST)" $(if $(API),--api "$(API)") \
	$(if $(PORT),--port "$(PORT)") $(if $(THREADS),--threads "$(THREADS)") \
	$(if $(WORKERS),--workers "$(WORKERS)") $(SERVE_FLAGS)

# Serve one API of CONFIG as a cluster replica runs it (README: Running locally).
serve: $(READY)
	$(PY) -m cortex_tools.runtime $(strip $(SERVE_ARGS))

# Check configs with Cortex 0.17's rules plus the template's own (each API's predictor is
# built, as a worker builds it, and answers sample.json: a 5xx fails), then each API on
# the image's own stack (.venv-image: its answers to sample.json and samples/*.json must be
# the local runtime's; without a Python 3.6, each model in TensorFlow 2.1.0's C library
# instead), then the uploaded code's TensorFlow names against TF 2.1.0's. `make check`
# checks every cortex*.yaml; `make check CONFIG="a.yaml b.yaml"` the files named.
CHECKED = $(if $(filter command line environment,$(origin CONFIG)),$(CONFIG))
check: $(READY) image-stack
	$(PY) -m cortex_tools.config_check $(CHECKED)
	$(PY) -m cortex_tools.image_stack check $(CHECKED)
	$(PY) -m cortex_tools.tf21 api

# A model from TensorFlow 2.x or Keras (SavedModel, .keras, .h5, a TF1 checkpoint or frozen
# graph) made into a SavedModel that the image's TensorFlow 2.1.0 serves, at DEST (default
# model), checked against the source first (README: Put in your own model). SIGNATURE,
# INPUTS, OUTPUTS: a SavedModel's signature, a graph's tensors (comma-separated).
SRC  ?=
DEST ?= model
convert: $(READY)
	@test -n "$(SRC)" || { echo "error: name the model to convert: make convert SRC=path/to/model [DEST=model]"; exit 1; }
	$(PY) -m cortex_tools.convert "$(SRC)" "$(DEST)" --config "$(firstword $(CONFIG))" \
	  $(if $(SIGNATURE),--signature "$(SIGNATURE)") $(if $(INPUTS),--inputs "$(INPUTS)") \
	  $(if $(OUTPUTS),--outputs "$(OUTPUTS)")

# Write sample.expected.json (and samples/*.expected.json): the API's answers, which
# scripts/smoke.sh then expects from the served or deployed API.
expected: $(READY)
	$(PY) -m cortex_tools.expected --config "$(CONFIG)" $(if $(API),--api "$(API)")

# Which threads, workers, strategy and batching serve CONFIG's API fastest here: writes
# $(BENCH_OUT)/report.md; QUICK=1: a few settings, under 2 minutes. bench/results is
# yours (git ignores it); the bundled model's reference is example/bench-reference.
BENCH_OUT ?= bench/results
bench: $(READY) wrk image-stack
	$(PY) -m cortex_tools.bench --config "$(CONFIG)" $(if $(API),--api "$(API)") \
	  --out $(BENCH_OUT) $(if $(QUICK),--quick)

# Re-create model/ from the example's data (deterministic).
model: $(READY)
	@test -f example/export_model.py || { echo "error: the iris example is removed; model/ is yours now"; exit 1; }
	$(PY) example/export_model.py --data example/iris.csv --out model

# The first step of putting in your own model (README): removes the iris example's
# sources, its tests, its expected answers and the iris model in model/ (its files only,
# and only when saved_model.pb is the iris graph, which names its classes: a model of
# yours put there first stays). model/README.md says what goes there. Kept:
# example/bench-reference, the reference benchmark the README quotes, and predictor.py,
# cortex*.yaml and sample.json, which you adapt next.
remove-example:
	rm -rf example/export_model.py example/iris.csv example/__pycache__ tests/example sample.expected.json samples/*.expected.json
	@if [ -f model/saved_model.pb ] && grep -q virginica model/saved_model.pb; then \
	  echo "rm -rf model/saved_model.pb model/variables  # the iris model"; \
	  rm -rf model/saved_model.pb model/variables; fi
	@echo "removed the iris example; next: put your model in model/ (model/README.md: make convert SRC=PATH for a TensorFlow 2.x or Keras model), then README, 'Put in your own model'"

clean:
	rm -rf $(VENV) .venv-image .pytest_cache .ruff_cache tools/*.egg-info
