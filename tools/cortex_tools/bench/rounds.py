"""Measure several servers side by side, in rounds.

The servers of one configuration are started together and each gets a warm-up run;
then every round runs wrk once against each of them, in an order that rotates from round
to round. On a machine shared with other work, a busy spell then lands on all of them
instead of on one row, and the rows' ratios (served vs no-op floor, no-op vs bare) hold
up better than their absolute rates. Idle servers cost nothing meanwhile.
"""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cortex_tools.bench import load
from cortex_tools.bench.servers import ServerProcess
from cortex_tools.bench.settings import Plan
from cortex_tools.bench.wrk_output import LoadResult

SPREAD_SHARE = 0.7  # a run whose busiest worker did at most this share had its load spread


def _add_worker_shares(row: dict[str, Any], cpu: list[dict[int, float]], parent: int) -> None:
    """Per run, the busiest worker's share; and the median rate of the runs whose load
    was spread over the workers (absent when none was)."""
    shares = [busiest_worker_share(run, parent) for run in cpu]
    row["busiest_worker_share"] = [None if s is None else round(s, 2) for s in shares]
    spread = [rps for rps, share in zip(row["runs"], shares, strict=True)
              if share is not None and share <= SPREAD_SHARE]
    if spread:
        row["rps_spread_runs"] = round(statistics.median(spread), 1)


def busiest_worker_share(cpu_by_pid: dict[int, float], parent: int) -> float | None:
    """The busiest worker's share of the workers' CPU in one run: 1/W when W workers
    shared the work evenly, 1.0 when one did it all (None: no separate workers)."""
    workers = [seconds for pid, seconds in cpu_by_pid.items() if pid != parent]
    if len(workers) < 2 or sum(workers) <= 0:
        return None
    return max(workers) / sum(workers)


@dataclass
class Target:
    key: str
    server: ServerProcess
    answers_well: Callable[[int, str], bool]  # (status, body) of one POST -> right?
    workers: int = 1  # worker processes: with 2 or more, how evenly they shared the work


def measure_together(targets: list[Target], plan: Plan,
                     say: Callable[[str], None] = print) -> dict[str, dict[str, Any]]:
    """One row per target (key -> row): medians of ``plan.runs`` rounds."""
    with contextlib.ExitStack() as stack:
        for target in targets:
            stack.enter_context(target.server)  # stopped on the way out, whatever happens
            target.server.launch()
        urls = {}
        for target in targets:
            urls[target.key] = url = target.server.wait_ready()
            status, text = load.probe(url)
            if not target.answers_well(status, text):
                raise load.LoadError(f"{target.server.name} answered {status}: {text[:300]}")
            if plan.warmup_requests:
                load.run_wrk(url, plan.warmup_requests, plan.concurrency)

        results: dict[str, list[LoadResult]] = {t.key: [] for t in targets}
        cpu: dict[str, list[dict[int, float]]] = {t.key: [] for t in targets}
        for round_index in range(plan.runs):
            shift = round_index % len(targets)
            for target in targets[shift:] + targets[:shift]:
                before = target.server.cpu_by_pid()
                result = load.run_wrk(urls[target.key], plan.requests, plan.concurrency)
                after = target.server.cpu_by_pid()
                cpu[target.key].append({pid: after[pid] - before.get(pid, 0.0) for pid in after})
                results[target.key].append(result)
    rows = {}
    for target in targets:
        totals = [sum(run.values()) for run in cpu[target.key]]
        rows[target.key] = row = load.summarize(results[target.key], totals)
        row["concurrency"] = plan.concurrency
        if target.workers > 1:
            _add_worker_shares(row, cpu[target.key], target.server.proc.pid)
        say(f"  {target.key:<26} {row['rps']:6.0f} req/s  p50 {row['p50_ms']:6.1f} ms  "
            f"p99 {row['p99_ms']:6.1f} ms  errors {row['errors']}")
    return rows
