"""The sweep: the user's API served at every setting of the plan, under the same load.

The settings of one (threads, workers) form a group: their servers start together and
take turns in the same rounds, so strategies and batching compare within a group under
the same conditions of a shared machine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cortex_tools.bench import rounds
from cortex_tools.bench.plan import Plan
from cortex_tools.bench.served_copy import ServedCopy
from cortex_tools.bench.server import Server, serving
from cortex_tools.bench.setting import Setting


def groups(plan: Plan, strategies: tuple[str | None, ...], batching: bool) -> list[list[Setting]]:
    """Settings by (threads, workers): each strategy, and each with batching too
    (max_batch_size = threads, its most) at threads >= plan.batch_from if the API can."""
    return [[Setting(threads, workers, strategy, batch)
             for batch in ([None, threads] if batching and threads >= plan.batch_from else [None])
             for strategy in strategies]
            for workers in plan.workers for threads in plan.threads]


def run(copy: ServedCopy, plan: Plan, *, connections: int, strategies: tuple[str | None, ...],
        batching: bool, body_file: Path, say: Callable[[str], None]) -> list[dict[str, Any]]:
    rows = []
    for group in groups(plan, strategies, batching):
        say(f" threads_per_worker={group[0].threads} workers_per_replica={group[0].workers}")
        servers = [Server(copy.config_for(s), copy.name, s.key) for s in group]
        with serving(servers, body_file.read_bytes()) as urls:
            measured = rounds.measure(
                [rounds.Target(s.key, server, url, connections)
                 for s, server, url in zip(group, servers, urls, strict=True)],
                body_file, warmup_s=plan.warmup_s, run_s=plan.run_s, runs=plan.runs, say=say)
        rows += [{"key": s.key, "setting": s.as_dict(), **measured[s.key],
                  "mean_batch": server.mean_batch()}
                 for s, server in zip(group, servers, strict=True)]
    return rows
