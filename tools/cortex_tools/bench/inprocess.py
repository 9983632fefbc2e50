"""The model's own figures, in this process, without HTTP.

- Its rate: ``PythonPredictor(config)`` built as a Cortex worker builds it
  (cortex_tools.project.build), then N threads call ``predict(sample)`` until a shared
  deadline: calls/s, and CPU per call (psutil: all of this process, TensorFlow's own
  threads included). The user's preprocessing is in it: predict is all we call.
- The strategy cost per call, when the predictor holds a ``tf_session.Model`` (as any
  attribute): each of tf_session's strategies around a no-op, against
  ``graph.as_default()`` alone and the seed page's enter-once flag; timeit loops on one
  non-main thread (as Cortex's predict pool), median of repeats.
- How predict reaches that Model (model_use): through Model.predict, which batches, or
  by driving the session itself (run_with_defaults, run), which batches nothing.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
import timeit
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import psutil

from cortex_tools import project
from cortex_tools.runtime.config import ApiSpec
from cortex_tools.runtime.predictor_loader import predict_arg_names

ROUNDS = 3  # rate rounds, each over every thread count: a busy spell hits them all
VARIANT_S = 0.02  # each variant's loop in a repeat lasts about this long


def build(spec: ApiSpec, sample: Any) -> tuple[Any, Callable[[], Any]]:
    """The predictor and a call of its predict on the sample (checked to answer < 400)."""
    from starlette.datastructures import Headers, QueryParams

    predictor = project.build(spec)
    given = {"payload": sample, "query_params": QueryParams(), "headers": Headers()}
    kwargs = {name: given[name] for name in predict_arg_names(predictor)}
    answer = predictor.predict(**kwargs)
    if getattr(answer, "status_code", 200) >= 400:  # a Starlette Response carries its own
        raise ValueError(f"predict(sample.json) answered {answer.status_code}: "
                         f"{answer.body[:300]!r}")
    return predictor, lambda: predictor.predict(**kwargs)


def measure(spec: ApiSpec, sample: Any, *, threads: tuple[int, ...], seconds: float,
            cost_repeats: int) -> dict[str, Any]:
    predictor, call = build(spec, sample)
    found: dict[str, Any] = {"rate": rates(call, threads, seconds)}
    if (model := tf_session_model(predictor)) is not None:
        found["strategies"] = list(sys.modules[type(model).__module__].SESSION_STRATEGIES)
        found["model_use"] = model_use(model, call)
        with ThreadPoolExecutor(1) as thread:  # not the main thread, as Cortex's pool
            found["strategy_cost"] = thread.submit(
                strategy_cost, model, found["strategies"], cost_repeats).result()
    return found


def tf_session_model(predictor: Any) -> Any | None:
    """The predictor's tf_session.Model, if it holds one (else it drives TF itself)."""
    return next((v for v in vars(predictor).values() if type(v).__name__ == "Model"
                 and type(v).__module__ == "tf_session"), None)


# tf_session.Model's ways in for the user's code: only predict batches; the others run
# what the caller hands them, one request's runs at a time.
MODEL_METHODS = ("predict", "run_with_defaults", "run", "evaluate")


def model_use(model: Any, call: Callable[[], Any]) -> str | None:
    """How one predict(sample) reaches the model: "predict" when it goes through
    Model.predict (which batches), else the first of the other MODEL_METHODS called;
    None when it calls none of them (it runs model.sess directly)."""
    called: list[str] = []

    def watched(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def watching(*args: Any, **kwargs: Any) -> Any:
            called.append(name)
            return method(*args, **kwargs)
        return watching

    # Instance attributes shadow the class's methods for the user's code and for the
    # Model's own calls alike; any already set on the instance are put back after.
    own = {name: vars(model)[name] for name in MODEL_METHODS if name in vars(model)}
    for name in MODEL_METHODS:
        setattr(model, name, watched(name, getattr(model, name)))
    try:
        call()
    finally:
        for name in MODEL_METHODS:
            if name in own:
                setattr(model, name, own[name])
            else:
                delattr(model, name)
    if "predict" in called:
        return "predict"
    return called[0] if called else None


def rates(call: Callable[[], Any], threads: tuple[int, ...],
          seconds: float) -> dict[str, dict[str, float]]:
    """threads -> calls/s, µs per call (1/rate) and CPU µs per call, medians of ROUNDS."""
    runs: dict[int, list[tuple[float, float]]] = {t: [] for t in threads}
    for _ in range(ROUNDS):
        for count in threads:
            runs[count].append(_rate(call, count, seconds / ROUNDS))
    found = {}
    for count, measured in runs.items():
        rate = statistics.median(r[0] for r in measured)
        found[str(count)] = {"calls_per_s": round(rate, 1), "us_per_call": round(1e6 / rate, 1),
                             "cpu_us_per_call": round(statistics.median(r[1] for r in measured), 1)}
    return found


def _rate(call: Callable[[], Any], threads: int, seconds: float) -> tuple[float, float]:
    start, counts, deadline = threading.Barrier(threads + 1), [0] * threads, [0.0]

    def loop(index: int) -> None:
        call()  # a thread's first call may enter defaults: not part of the rate
        start.wait()
        while time.perf_counter() < deadline[0]:
            call()
            counts[index] += 1

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    cpu0, wall0 = sum(psutil.Process().cpu_times()[:2]), time.perf_counter()
    deadline[0] = wall0 + seconds
    start.wait()
    for thread in pool:
        thread.join()
    wall, cpu = time.perf_counter() - wall0, sum(psutil.Process().cpu_times()[:2]) - cpu0
    return sum(counts) / wall, cpu / max(sum(counts), 1) * 1e6


class SeedPageFlag:
    """The seed page's enter-once, literally: a flag on the instance, and
    ``sess.__enter__()`` on the first call (right only at threads_per_worker 1)."""

    def __init__(self, sess: Any) -> None:
        self.sess, self.default_graph_loaded = sess, False

    def run(self, fn: Callable[[Any], Any]) -> Any:
        if not self.default_graph_loaded:
            self.sess.__enter__()
            self.default_graph_loaded = True
        return fn(self.sess)


def noop(sess: Any, arg: Any = None) -> None:
    """The user's inference minus the inference: what is left is the strategy's cost. (A
    strategy calls fn(sess, arg): tf_session's own call, one argument and no packing.)"""


def strategy_cost(model: Any, strategies: list[str], repeats: int) -> dict[str, Any]:
    """ns per call of each variant over the bare ``noop(sess)``, paired within a repeat."""
    import tensorflow as tf

    # A session of its own on the model's graph: a Session enters as a default only once.
    flag = SeedPageFlag(tf.compat.v1.Session(graph=model.graph))
    sess, graph = model.sess, model.graph

    def as_default() -> None:
        with graph.as_default():
            noop(sess)

    # Every variant is one partial's call, so that its own cost cancels out in the pairing.
    variants = {"none": partial(noop, sess),
                **{s: partial(getattr(model, f"_run_{s}"), noop) for s in strategies},
                "graph_as_default": partial(as_default),
                "instance_flag": partial(flag.run, noop)}  # last: it stays entered, on top
    timers = {v: timeit.Timer(fn) for v, fn in variants.items()}
    calls = {v: int(min(max(VARIANT_S / max(t.timeit(200) / 200, 1e-9), 200), 200_000))
             for v, t in timers.items()}  # those first 200 calls warm each variant up too
    over_bare: dict[str, list[float]] = {v: [] for v in timers}
    try:
        for repeat in range(repeats):
            order = list(timers)[repeat % len(timers):] + list(timers)[:repeat % len(timers)]
            ns = {v: timers[v].timeit(calls[v]) / calls[v] * 1e9 for v in order}
            for variant in timers:
                over_bare[variant].append(ns[variant] - ns["none"])
    finally:
        if flag.default_graph_loaded:  # exit on the thread that entered it
            flag.sess.__exit__(None, None, None)
        flag.sess.close()
    return {"ns": {v: round(statistics.median(x), 1) for v, x in over_bare.items()},
            "bare_call_ns": round(ns["none"], 1), "repeats": repeats}
