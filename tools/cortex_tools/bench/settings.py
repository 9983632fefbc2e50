"""The knobs of a bench run, in one place: the full plan and the quick one.

Every served row uses the same request count and concurrency (the issue asks for a
fixed load), and so do the floors, so that rows and floors compare like for like.
"""

from __future__ import annotations

from dataclasses import dataclass

STRATEGIES = ("per_request", "once_per_thread")


@dataclass(frozen=True)
class Plan:
    name: str
    # Section 1: timeit loops. Cheap variants (tens of ns) need many calls per repeat to
    # rise above the timer's resolution; the per_request ones (µs) need far fewer.
    overhead_repeats: int
    overhead_calls: int
    overhead_slow_calls: int
    sess_run_calls: int
    # Section 2
    model_threads: tuple[int, ...]
    model_seconds: float  # per thread count, over `model_rounds` interleaved rounds
    model_rounds: int
    batch_sizes: tuple[int, ...]
    batch_seconds: float  # per batch size
    paused_calls: int  # sess.run calls one at a time, tight and after a pause (each)
    # Sections 3 and 4: every row is a warm-up run + `runs` runs of `requests` requests at
    # `concurrency` connections, floors included.
    concurrency: int
    requests: int
    runs: int
    warmup_requests: int
    threads: tuple[int, ...]
    workers: tuple[int, ...]
    strategies: tuple[str, ...] = STRATEGIES
    # (threads, workers) at which a once_per_thread server with TensorFlow's default
    # thread pools joins the rounds: cortex.yaml's session options against no options.
    session_defaults_at: tuple[tuple[int, int], ...] = ()

    def served_configs(self) -> list[tuple[int, int]]:
        """(threads, workers) of every served row, and of the no-op floor beside it."""
        return [(t, w) for w in self.workers for t in self.threads]


FULL = Plan(
    name="full",
    overhead_repeats=21,
    overhead_calls=400_000,
    overhead_slow_calls=20_000,
    sess_run_calls=2_000,
    model_threads=(1, 2, 4, 8),
    model_seconds=3.0,
    model_rounds=3,
    batch_sizes=(1, 2, 4, 8, 16, 32, 64),
    batch_seconds=0.6,
    paused_calls=500,
    concurrency=32,
    requests=3_000,
    runs=7,
    warmup_requests=300,
    threads=(1, 2, 4, 8),
    workers=(1, 2),
    session_defaults_at=((1, 1), (1, 2)),
)

# Same sections, fewer repeats and rows: under 2 minutes on a 2-core machine, most of it
# spent starting TensorFlow servers (~5 s each).
QUICK = Plan(
    name="quick",
    overhead_repeats=7,
    overhead_calls=100_000,
    overhead_slow_calls=4_000,
    sess_run_calls=500,
    model_threads=(1, 2, 4),
    model_seconds=1.0,
    model_rounds=3,
    batch_sizes=(1, 4, 16, 64),
    batch_seconds=0.2,
    paused_calls=150,
    concurrency=32,
    requests=1_000,
    runs=2,
    warmup_requests=100,
    threads=(1, 2),
    workers=(1, 2),
)
