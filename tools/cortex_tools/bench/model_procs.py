"""Section 2 for workers_per_replica > 1: the model's rate in W processes at once.

Threads of one process share its GIL; Cortex's workers are processes and do not. So the
model's limit for a served row of W workers x T threads is measured the same way: W
spawned processes, each with its own predictor and T threads calling predict_on_sess,
started together (a barrier across processes) for the same time; the rate is all their
calls over the window from the first start to the last end.
"""

from __future__ import annotations

import multiprocessing
import statistics
from multiprocessing.connection import Connection
from typing import Any

from cortex_tools.bench import model_rate
from cortex_tools.bench.settings import Plan

START_TIMEOUT_S = 180


def measure(plan: Plan, workers: int, thread_counts: tuple[int, ...]) -> dict[str, Any]:
    """{threads: calls/s} and {threads: CPU µs per call} for ``workers`` processes."""
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter, as Cortex's workers
    barrier = ctx.Barrier(workers)
    pipes, procs = [], []
    for _ in range(workers):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(child, barrier), daemon=True)
        proc.start()
        child.close()
        pipes.append(parent)
        procs.append(proc)
    try:
        for pipe in pipes:
            if not pipe.poll(START_TIMEOUT_S) or pipe.recv() != "ready":
                raise RuntimeError("a model process did not start")
        rounds: dict[int, list[tuple[float, float]]] = {t: [] for t in thread_counts}
        seconds = plan.model_seconds / plan.model_rounds
        for _ in range(plan.model_rounds):
            for threads in thread_counts:
                for pipe in pipes:
                    pipe.send((threads, seconds))
                results = [pipe.recv() for pipe in pipes]
                # All calls over the window from the first start to the last end: never
                # more than the processes did together, even if they started apart.
                calls = sum(r["calls"] for r in results)
                window = max(r["end"] for r in results) - min(r["start"] for r in results)
                cpu_us = sum(r["cpu_s"] for r in results) / calls * 1e6
                rounds[threads].append((calls / window, cpu_us))
    finally:
        for pipe in pipes:
            pipe.send(None)
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    return {
        "model_rate": {str(t): round(statistics.median(r[0] for r in rounds[t]), 1)
                       for t in thread_counts},
        "model_cpu_us_per_call": {str(t): round(statistics.median(r[1] for r in rounds[t]), 1)
                                  for t in thread_counts},
    }


def _worker(conn: Connection, barrier: Any) -> None:
    """In each spawned process: build the predictor, then measure on request."""
    from cortex_tools.bench import inprocess

    predictor = inprocess.build("once_per_thread")
    features = inprocess.sample_features()
    conn.send("ready")
    while (command := conn.recv()) is not None:
        threads, seconds = command
        barrier.wait()  # every process starts its threads together
        conn.send(model_rate.rate(predictor, features, threads, seconds))
