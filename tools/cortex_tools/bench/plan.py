"""The knobs of a run: the full plan (`make bench`) and the quick one (`make bench
QUICK=1`, and the end-to-end test of `make test`).

Loads are timed (wrk's -d, whole seconds), not counted, so a run's length is known in
advance: under ~12 minutes for the full plan and 2 for the quick one on 2 cores, much of
it spent starting TensorFlow servers (~6 s each, several at once where they can).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    name: str
    # The sweep: strategies x threads x workers, batching off/on at threads >= batch_from.
    threads: tuple[int, ...]
    workers: tuple[int, ...]
    batch_from: int
    connections: int  # the sweep's load: wrk connections, one request at a time each
    # Every row: a warm-up, then `runs` runs taking turns with the other rows of its group.
    warmup_s: int
    run_s: int
    runs: int
    batch_connections: tuple[int, ...]  # batching off vs on, at batch_threads, 1 worker
    batch_threads: int
    soak_s: int  # at soak_connections, in soak_chunks runs (RSS read after each)
    soak_chunks: int
    soak_connections: int
    overload_s: int
    inprocess_threads: tuple[int, ...]  # predict(sample) loops: inprocess_s per count
    inprocess_s: float
    cost_repeats: int  # strategy cost: timeit repeats (median)


FULL = Plan(name="full", threads=(1, 2, 4, 8), workers=(1, 2), batch_from=4, connections=32,
            warmup_s=1, run_s=2, runs=3, batch_connections=(1, 4, 16, 64), batch_threads=8,
            soak_s=30, soak_chunks=10, soak_connections=16, overload_s=5,
            inprocess_threads=(1, 2, 8), inprocess_s=3.0, cost_repeats=15)

# Quick: 2 sweep rows (batching has its own section), 8 servers in all.
QUICK = Plan(name="quick", threads=(4,), workers=(1,), batch_from=99, connections=32,
             warmup_s=1, run_s=1, runs=1, batch_connections=(1, 64), batch_threads=8,
             soak_s=4, soak_chunks=2, soak_connections=16, overload_s=2,
             inprocess_threads=(1, 4), inprocess_s=0.6, cost_repeats=5)
