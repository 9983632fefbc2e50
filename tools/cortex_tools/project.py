"""The user's project as the tools see it: its APIs, its sample payloads, its predictors.

Model-agnostic on purpose: everything here reads only the cortex*.yaml files, predictor.py
(through Cortex's own loading rules), sample.json and the optional samples/*.json, and calls
``PythonPredictor(config)`` and ``predict(payload)``. The template tests, ``make check``'s
model checks and the benchmarks all start from here, so a user's own model works with
all of them unchanged.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cortex_tools.runtime.config import ApiSpec, load_apis
from cortex_tools.runtime.errors import ConfigError
from cortex_tools.runtime.predictor_loader import build_predictor, load_predictor_class

SAMPLE = "sample.json"
SAMPLES_DIR = "samples"
EXPECTED_SUFFIX = ".expected.json"  # the answers smoke.sh expects (make expected)
CONFIG_GLOB = "cortex*.yaml"


def config_files(project_dir: Path) -> list[Path]:
    """Every cortex*.yaml of the project: cortex.yaml first, then the others by name."""
    return sorted(Path(project_dir).glob(CONFIG_GLOB), key=lambda p: (p.name != "cortex.yaml",
                                                                       p.name))


def api_specs(project_dir: Path) -> list[ApiSpec]:
    """Every API of every config file, each with its defaults filled in (invalid configs
    raise the runtime's ConfigError, as ``make serve`` would)."""
    return [spec for path in config_files(project_dir) for spec in load_apis(path)]


@dataclass(frozen=True)
class Payload:
    name: str  # "sample.json" or "samples/NAME.json"
    value: Any


def payloads(project_dir: Path) -> list[Payload]:
    """sample.json, then each samples/*.json in name order: the payloads a user says their
    API answers."""
    root = Path(project_dir)
    files = [root / SAMPLE, *sorted(f for f in (root / SAMPLES_DIR).glob("*.json")
                                    if not f.name.endswith(EXPECTED_SUFFIX))]
    return [Payload(str(f.relative_to(root)), json.loads(f.read_text()))
            for f in files if f.is_file()]


def config_error_line(error: ConfigError) -> str:
    """The first error a ConfigError holds, in one line (the others counted)."""
    errors = [line for line in error.details if ": warning: " not in line] or [str(error)]
    more = f" (and {len(errors) - 1} more: make check lists them)" if len(errors) > 1 else ""
    return errors[0] + more


def refusal(name: str, status: Any, body: Any) -> str | None:
    """For a 4xx answer to payload file `name` (a status and its JSON body or text): the
    one line that says the file is no payload the API accepts, in the API's own words;
    None for any other answer. The project's payloads are ones the API answers (README):
    a 400 for one is the file's fault, not the model's."""
    if not (isinstance(status, int) and 400 <= status < 500):
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        with contextlib.suppress(ValueError):
            body = json.loads(body)
    said = body.get("error") if isinstance(body, dict) else None
    if not isinstance(said, str):
        said = body if isinstance(body, str) else json.dumps(body)
    said = said if len(said) <= 300 else said[:300] + "..."
    return (f"{name} is not a payload this API accepts: {said} (it answers {status}; put a "
            f"payload it answers in {name})")


def refusal_of(name: str, answer: Any) -> str | None:
    """refusal() for what predict() returned (a Starlette Response carries a status)."""
    return refusal(name, getattr(answer, "status_code", 200), getattr(answer, "body", None))


@contextlib.contextmanager
def in_project(spec: ApiSpec, threads: int | None = None) -> Iterator[None]:
    """The process as Cortex sets it for a predictor: cwd the project dir, which is on
    sys.path (Cortex's PYTHONPATH holds /mnt/project), and predictor.env in os.environ,
    with CORTEX_THREADS_PER_WORKER as each worker has it (`threads` stands in for the
    API's threads_per_worker: Cortex's local environment runs 1)."""
    old_cwd, old_path, old_env = os.getcwd(), list(sys.path), dict(os.environ)
    os.chdir(spec.project_dir)
    sys.path.insert(0, str(spec.project_dir))
    if spec.python_path is not None:
        sys.path.append(str(spec.python_path))
    os.environ.update(spec.env)
    os.environ["CORTEX_THREADS_PER_WORKER"] = str(threads or spec.threads_per_worker)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        os.environ.clear()
        os.environ.update(old_env)


def build(spec: ApiSpec, threads: int | None = None) -> Any:
    """The API's ``PythonPredictor(config)``, built in this process on this thread as a
    Cortex worker builds it (the runtime's loader: the same class rules and messages),
    with ``threads`` threads per worker if given."""
    with in_project(spec, threads):
        predictor_class = load_predictor_class(spec.project_dir, spec.predictor_path)
        return build_predictor(predictor_class, spec.predictor_config, spec.predictor_path)


@dataclass
class SessionRun:
    """One ``Session.run`` call made while a payload was answered: what it fed and fetched,
    by tensor name, and what it returned (as flat lists in fetch order)."""

    fetches: list[str]
    feed: dict[str, Any]
    results: list[Any] = field(default_factory=list)


@contextlib.contextmanager
def recorded_session_runs() -> Iterator[list[SessionRun]]:
    """Every ``tf.compat.v1.Session.run`` call made on this thread inside the block, and
    every run of tf_session's session callables (predict()'s), by tensor name. Other
    threads' calls pass untouched."""
    import tensorflow as tf

    runs: list[SessionRun] = []
    session_class = tf.compat.v1.Session
    real_run = session_class.run
    this_thread = threading.get_ident()

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        if threading.get_ident() != this_thread:
            return real_run(self, fetches, feed_dict, options, run_metadata)
        # Copies, taken as the call happens: a sampling loop feeds {tokens: [context]} and
        # then appends to context, and may work on a fetched array in place; what is
        # replayed and compared must be what this call was fed and returned.
        feed = {_tensor_name(k): _snapshot(v, k) for k, v in (feed_dict or {}).items()}
        results = real_run(self, fetches, feed_dict, options, run_metadata)
        runs.append(SessionRun(fetches=[_tensor_name(f) for f in tf.nest.flatten(fetches)],
                               feed=feed,
                               results=[_snapshot(r) for r in tf.nest.flatten(results)]))
        return results

    # tf_session's predict() runs a session callable, not Session.run: its runs by feed.
    model_class = getattr(sys.modules.get("tf_session"), "Model", None)
    real_run_feed = getattr(model_class, "_run_feed", None)

    def run_feed(model, sess, feed):
        if threading.get_ident() != this_thread:
            return real_run_feed(model, sess, feed)
        fed = {name: _snapshot(value) for name, value in feed.items()}
        results = real_run_feed(model, sess, feed)
        runs.append(SessionRun(fetches=list(model._fetches), feed=fed,
                               results=[_snapshot(r) for r in results]))
        return results

    session_class.run = run
    if real_run_feed is not None:
        model_class._run_feed = run_feed
    try:
        yield runs
    finally:
        session_class.run = real_run
        if real_run_feed is not None:
            model_class._run_feed = real_run_feed


def _tensor_name(fetch: Any) -> str:
    return fetch if isinstance(fetch, str) else fetch.name


def _snapshot(value: Any, fed: Any = None) -> Any:
    """A copy of a fed or fetched value that later changes to `value` cannot reach. A fed
    list becomes the array that sess.run makes of it (the tensor's dtype, so that strings
    stay bytes, NULs and all); what numpy cannot convert is deep-copied and left for
    sess.run to refuse in its own words."""
    if value is None or isinstance(value, np.ndarray):
        return None if value is None else value.copy()
    dtype = getattr(getattr(fed, "dtype", None), "as_numpy_dtype", None)
    if isinstance(value, bytes | str) and dtype in (None, object):
        dtype = object  # a string scalar: numpy's "S" dtype would drop its trailing NULs
    try:
        return np.array(value, dtype=dtype)
    except (ValueError, TypeError, OverflowError):
        return copy.deepcopy(value)
