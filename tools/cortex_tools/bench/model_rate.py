"""Section 2: the model's own limit, in this process, without HTTP.

- ``calls/s`` at N threads: N threads call ``predict_on_sess`` (one ``sess.run`` each) on
  one shared session as fast as they can for a fixed time, in rounds (median); the
  composed ideal of a served row uses the figure at the row's threads x workers.
- ``cpu_us_per_call``: this process's CPU time (TensorFlow's own threads included) per
  call, to compare with what the served API spends per request.
- Batch sizes: one thread, ``sess.run`` on a [batch, 4] array: examples/s per batch size.
- One call at a time, in a tight loop and after a short pause: what a call costs when it
  does not follow another one straight away, as in serving.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import numpy as np

from cortex_tools.bench import inprocess
from cortex_tools.bench.settings import Plan


def measure(plan: Plan) -> dict[str, Any]:
    predictor = inprocess.build("once_per_thread")
    features = inprocess.sample_features()
    # Rounds over the thread counts, medians per count: a busy spell of a shared machine
    # then lowers one round of every count rather than all of one count.
    rounds: dict[int, list[dict]] = {t: [] for t in plan.model_threads}
    seconds = plan.model_seconds / plan.model_rounds
    for _ in range(plan.model_rounds):
        for threads in plan.model_threads:
            rounds[threads].append(rate(predictor, features, threads, seconds))

    def median(threads: int, key: str) -> float:
        return round(statistics.median(r[key] for r in rounds[threads]), 1)

    return {
        "model_rate": {str(t): median(t, "calls_per_s") for t in plan.model_threads},
        "model_cpu_us_per_call": {str(t): median(t, "cpu_us_per_call")
                                  for t in plan.model_threads},
        "batch": [_batch(predictor, features, b, plan.batch_seconds) for b in plan.batch_sizes],
        "sess_run_paused": _paused(predictor, features, plan.paused_calls),
        "session_options": _session_options(plan, predictor, features),
    }


def _session_options(plan: Plan, shipped: Any, features: list[float]) -> dict[str, Any]:
    """cortex.yaml's session options against TensorFlow's defaults, one thread: calls/s
    in a loop (interleaved rounds, median) and the cost of a call after a pause."""
    predictors = {"shipped": shipped, "tf_defaults": inprocess.build("once_per_thread",
                                                                     tf_defaults=True)}
    rounds: dict[str, list[dict]] = {name: [] for name in predictors}
    seconds = plan.model_seconds / plan.model_rounds / 2
    for _ in range(plan.model_rounds):
        for name, predictor in predictors.items():
            rounds[name].append(rate(predictor, features, 1, seconds))
    found: dict[str, Any] = {"options": inprocess.session_options()}
    for name, predictor in predictors.items():
        found[name] = {
            "calls_per_s": round(statistics.median(r["calls_per_s"] for r in rounds[name]), 1),
            "cpu_us_per_call": round(statistics.median(r["cpu_us_per_call"]
                                                       for r in rounds[name]), 1),
            **_paused(predictor, features, plan.paused_calls),
        }
    return found


def _paused(predictor: Any, features: list[float], calls: int) -> dict[str, float]:
    """One thread, one call at a time: in a tight loop, and each after a 1 ms pause.

    Served, a sess.run never comes straight after another: HTTP work and other threads
    run between them. A pause lets TensorFlow's pool threads go to sleep and other work
    take the caches, and shows what a call costs when it finds them cold.
    """
    run, infer = predictor.run_with_defaults, predictor.predict_on_sess
    found = {}
    for name, pause in (("tight", 0.0), ("after_1ms_pause", 0.001)):
        wall, cpu = 0.0, 0.0
        run(infer, features)
        for _ in range(calls):
            if pause:
                time.sleep(pause)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            run(infer, features)
            wall += time.perf_counter() - wall0
            cpu += time.process_time() - cpu0
        found[f"{name}_wall_us"] = round(wall / calls * 1e6, 1)
        # All of the process's threads, so TensorFlow's pool threads waking up count too.
        found[f"{name}_cpu_us"] = round(cpu / calls * 1e6, 1)
    return found


def rate(predictor: Any, features: list[float], threads: int, seconds: float) -> dict:
    """Calls per second with ``threads`` threads, each in a loop until a shared deadline."""
    start = threading.Barrier(threads + 1)
    counts = [0] * threads
    deadline = [0.0]

    def loop(index: int) -> None:
        run, infer = predictor.run_with_defaults, predictor.predict_on_sess
        run(infer, features)  # enters the defaults on this thread, warms it up
        start.wait()
        n = 0
        while time.perf_counter() < deadline[0]:
            run(infer, features)
            n += 1
        counts[index] = n

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    deadline[0] = wall0 + seconds
    start.wait()
    for thread in pool:
        thread.join()
    wall1 = time.perf_counter()
    cpu = time.process_time() - cpu0
    calls = sum(counts)
    # start/end: perf_counter is CLOCK_MONOTONIC, one clock for every process, so that
    # bench.model_procs can take the rate of several processes over their common window.
    return {"calls_per_s": round(calls / (wall1 - wall0), 1),
            "cpu_us_per_call": round(cpu / calls * 1e6, 1),
            "calls": calls, "cpu_s": cpu, "start": wall0, "end": wall1}


def _batch(predictor: Any, features: list[float], size: int, seconds: float) -> dict:
    """One thread, one sess.run per batch of ``size`` examples: median of 3 timed loops."""
    sess = predictor.sess
    fetch = predictor.outputs["probabilities"]
    feed = {predictor.inputs["features"]: np.asarray([features] * size, dtype=np.float32)}
    sess.run(fetch, feed)
    # Calibrate: enough calls for a loop of ~seconds/3.
    t0 = time.perf_counter()
    sess.run(fetch, feed)
    calls = max(int(seconds / 3 / max(time.perf_counter() - t0, 1e-6)), 5)
    per_call = []
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(calls):
            sess.run(fetch, feed)
        per_call.append((time.perf_counter() - t0) / calls)
    seconds_per_call = statistics.median(per_call)
    return {
        "batch": size,
        "us_per_call": round(seconds_per_call * 1e6, 1),
        "examples_per_s": round(size / seconds_per_call, 1),
    }
