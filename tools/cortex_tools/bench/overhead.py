"""Section 1: what each session strategy adds to one call, in ns.

Each variant calls the same no-op ``fn(sess, features)``; the bare call is the baseline,
so a variant's overhead is its time per call minus the bare call's, paired within each
repeat (repeats interleave the variants, so a slow patch of the machine hits them all)
and the median taken over repeats. Everything runs on one thread that is not the main
thread, as Cortex's predict pool does, and each strategy has its own session.
"""

from __future__ import annotations

import statistics
import threading
import timeit
from collections.abc import Callable
from typing import Any

from cortex_tools.bench import inprocess
from cortex_tools.bench.settings import Plan

BARE = "none"
# Variants timed with fewer calls: they cost µs, not ns.
SLOW = ("per_request", "graph_as_default")


def noop_fn(sess: Any, features: Any) -> None:
    """The user's inference, minus the inference: what is left is the strategy's cost."""


class PassThrough:
    """A wrapper that adds nothing: the floor of any ``run_with_defaults(fn, features)``
    (one more Python frame), so a strategy's own work is what it costs beyond this."""

    def __init__(self, sess: Any) -> None:
        self.sess = sess

    def run(self, fn: Callable[[Any, Any], Any], features: Any) -> Any:
        return fn(self.sess, features)


class PageInstanceFlag:
    """The seed page's enter-once, literally: a flag on the instance, ``sess.__enter__()``
    on the first call (only right for threads_per_worker 1: other threads never enter)."""

    def __init__(self, sess: Any) -> None:
        self.sess = sess
        self.default_graph_loaded = False

    def run(self, fn: Callable[[Any, Any], Any], features: Any) -> Any:
        if not self.default_graph_loaded:
            self.sess.__enter__()
            self.default_graph_loaded = True
        return fn(self.sess, features)

    def close(self) -> None:
        """Leave the session on the thread that entered it; left to the garbage collector
        on another thread, TensorFlow prints an IndexError at exit."""
        if self.default_graph_loaded:
            self.sess.__exit__(None, None, None)
            self.default_graph_loaded = False


def timers(features: list[float]) -> tuple[dict[str, timeit.Timer], Any, PageInstanceFlag]:
    """One timeit.Timer per variant, the once_per_thread predictor (for sess.run), and
    the page's flag (to close on the thread that measured)."""
    per_request = inprocess.build("per_request")
    once = inprocess.build("once_per_thread")
    # Its own session: a Session's __enter__ works once. Its strategy is never used.
    flag = PageInstanceFlag(inprocess.build("per_request").sess)
    names = {
        "fn": noop_fn,
        "features": features,
        "sess": once.sess,
        "graph": per_request.graph,
        "per_request": per_request.run_with_defaults,
        "once_per_thread": once.run_with_defaults,
        "instance_flag": flag.run,
        "wrapper": PassThrough(once.sess).run,
    }
    # Statement per variant; setup copies the names into locals (fast lookups, as in a
    # function's body) from globals of another name (`x = x` would make x unbound).
    statements = {
        BARE: "fn(sess, features)",
        "wrapper": "wrapper(fn, features)",
        # once_per_thread before instance_flag: their first calls (the warm-up) enter
        # defaults on this thread in this order, and flag.close() must leave the top one.
        "once_per_thread": "once_per_thread(fn, features)",
        "instance_flag": "instance_flag(fn, features)",
        "per_request": "per_request(fn, features)",
        # The seed page's 0.4 µs claim is about graph.as_default() alone.
        "graph_as_default": "with graph.as_default():\n    fn(sess, features)",
    }
    setup = "; ".join(f"{name} = _{name}" for name in names)
    namespace = {f"_{name}": value for name, value in names.items()}
    built = {
        variant: timeit.Timer(stmt, setup=setup, globals=namespace)
        for variant, stmt in statements.items()
    }
    return built, once, flag


def measure(plan: Plan) -> dict[str, Any]:
    """Section 1's figures (see ``_measure``), measured on a fresh thread."""
    result: dict[str, Any] = {}
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.update(_measure(plan))
        except BaseException as e:  # re-raised on the caller's thread
            errors.append(e)

    thread = threading.Thread(target=target, name="bench-overhead")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result


def _measure(plan: Plan) -> dict[str, Any]:
    features = inprocess.sample_features()
    variant_timers, once, flag = timers(features)
    try:
        return _time_variants(plan, variant_timers, once, features)
    finally:
        flag.close()


def _time_variants(plan: Plan, variant_timers: dict[str, timeit.Timer], once: Any,
                   features: list[float]) -> dict[str, Any]:
    variants = list(variant_timers)
    for timer in variant_timers.values():  # first calls enter defaults, warm caches
        timer.timeit(1_000)

    per_call: dict[str, list[float]] = {v: [] for v in variants}
    over_bare: dict[str, list[float]] = {v: [] for v in variants}
    for repeat in range(plan.overhead_repeats):
        # Rotate the order so that no variant always runs right after the same one.
        order = variants[repeat % len(variants):] + variants[: repeat % len(variants)]
        times = {}
        for variant in order:
            calls = plan.overhead_slow_calls if variant in SLOW else plan.overhead_calls
            times[variant] = variant_timers[variant].timeit(calls) / calls * 1e9
        for variant in variants:
            per_call[variant].append(times[variant])
            over_bare[variant].append(times[variant] - times[BARE])

    sess_run_us = _sess_run_us(once, features, plan)
    overhead_ns = {v: round(statistics.median(over_bare[v]), 1) for v in variants}
    per_request_ns = overhead_ns["per_request"]
    return {
        "overhead_ns": overhead_ns,
        "call_ns": {v: round(statistics.median(per_call[v]), 1) for v in variants},
        # Spread across repeats: how far to trust a difference of a few ns.
        "overhead_ns_iqr": {v: round(_iqr(over_bare[v]), 1) for v in variants},
        "ratio_to_per_request": {
            v: round(overhead_ns[v] / per_request_ns, 5) for v in variants
        },
        "times_less_than_per_request": {
            v: round(per_request_ns / overhead_ns[v], 1) for v in variants if overhead_ns[v] > 0
        },
        "fraction_of_sess_run": {
            v: overhead_ns[v] / (sess_run_us * 1000) for v in variants
        },
        "sess_run_us": round(sess_run_us, 1),
        "repeats": plan.overhead_repeats,
        "calls_per_repeat": {
            v: plan.overhead_slow_calls if v in SLOW else plan.overhead_calls for v in variants
        },
    }


def _sess_run_us(once: Any, features: list[float], plan: Plan) -> float:
    """One real inference (predict_on_sess: one sess.run), median of repeats, in µs."""
    sess = once.sess
    timer = timeit.Timer(lambda: once.predict_on_sess(sess, features))
    timer.timeit(50)
    calls = max(plan.sess_run_calls // 5, 1)
    return statistics.median(timer.repeat(repeat=5, number=calls)) / calls * 1e6


def _iqr(values: list[float]) -> float:
    if len(values) < 4:
        return max(values) - min(values)
    quartiles = statistics.quantiles(values, n=4)
    return quartiles[2] - quartiles[0]
