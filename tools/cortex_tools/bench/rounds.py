"""Rows measured side by side: each gets a warm-up run, then every round runs wrk once
against each row, in an order that rotates from round to round. A busy spell of a shared
machine then lands on every row of the group rather than on one, so ratios within a
group (strategy against strategy, batching on against off) hold up better than the
rates themselves. Idle servers cost nothing meanwhile.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cortex_tools.bench import wrk
from cortex_tools.bench.server import Server


@dataclass
class Target:
    key: str
    server: Server
    url: str
    connections: int


def measure(targets: list[Target], body_file: Path, *, warmup_s: int, run_s: int, runs: int,
            say: Callable[[str], None],
            between_rounds: Callable[[], None] | None = None) -> dict[str, dict[str, Any]]:
    """key -> row (``summarize``); `between_rounds`, if given, is called after each round,
    while every server idles."""
    warmups = {t.key: wrk.run(t.url, body_file, t.connections, warmup_s) for t in targets}
    loads: dict[str, list[wrk.Load]] = {t.key: [] for t in targets}
    cpu: dict[str, list[float]] = {t.key: [] for t in targets}
    for index in range(runs):
        for target in targets[index % len(targets):] + targets[:index % len(targets)]:
            before = target.server.cpu_s()
            loads[target.key].append(wrk.run(target.url, body_file, target.connections, run_s))
            cpu[target.key].append(target.server.cpu_s() - before)
        if between_rounds is not None:
            between_rounds()
    rows = {t.key: {**summarize(loads[t.key], cpu[t.key]),
                    "warmup_requests": warmups[t.key].requests} for t in targets}
    for target in targets:
        row = rows[target.key]
        say(f"  {target.key:<34} c={target.connections:<3} {row['rps']:6.0f} req/s  "
            f"p50 {row['p50_ms']:7.2f} ms  p99 {row['p99_ms']:6.1f} ms  errors {row['errors']}")
    return rows


def summarize(loads: list[wrk.Load], server_cpu_s: list[float]) -> dict[str, Any]:
    """A row from its runs: medians of rate and latencies, counts summed, and CPU per 2xx
    answer (µs) of the server (all its processes) and of wrk."""
    def median(values: list[float], digits: int = 2) -> float:
        return round(statistics.median(values), digits)

    statuses: dict[str, int] = {}
    for load in loads:
        for status, n in load.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    ok = [max(load.ok, 1) for load in loads]
    return {
        "connections": loads[0].connections, "rps": median([x.rps for x in loads], 1),
        "p50_ms": median([x.p50_ms for x in loads], 3), "p90_ms": median([x.p90_ms for x in loads]),
        "p99_ms": median([x.p99_ms for x in loads]), "max_ms": max(x.max_ms for x in loads),
        "requests": sum(x.requests for x in loads), "errors": sum(x.errors for x in loads),
        "statuses": statuses, "runs_rps": [round(x.rps, 1) for x in loads],
        "server_cpu_us": median([c / n * 1e6 for c, n in zip(server_cpu_s, ok, strict=True)], 1),
        "wrk_cpu_us": median([x.wrk_cpu_s / n * 1e6 for x, n in zip(loads, ok, strict=True)], 1),
    }
