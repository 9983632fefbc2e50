"""Batching off against on at the same threads (1 worker), at each connection count.

One unbatched server takes every count; the batched side has a server per count (but
1), since a worker reports its batches only once, as it stops: so each count's mean
batch size is its own. At each count the two take turns in the same rounds.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cortex_tools.bench import inprocess, rounds
from cortex_tools.bench.plan import Plan
from cortex_tools.bench.served_copy import ServedCopy
from cortex_tools.bench.server import Server, serving
from cortex_tools.bench.setting import Setting


def run(copy: ServedCopy, strategy: str | None, plan: Plan, *, api_limit: int,
        body_file: Path, say: Callable[[str], None]) -> list[dict[str, Any]]:
    """One row per connection count: off and on, their req/s ratio and p50 difference."""
    threads, counts = plan.batch_threads, sorted(plan.batch_connections)
    # Room for the most connections, so that no 503 stands in for a slow answer.
    limit = max(api_limit, 2 * counts[-1])
    off = Server(copy.config_for(Setting(threads, 1, strategy, None, limit)), copy.name, "off")
    config_on = copy.config_for(Setting(threads, 1, strategy, threads, limit))
    on = {c: Server(config_on, copy.name, f"on c={c}") for c in counts
          if c != 1 or len(counts) == 1}
    # A single connection runs one request per batch, so its requests can be taken out of
    # a server's exit line: count 1 shares the batched server of the top count, first.
    shared = on[counts[-1]]
    found, alone = [], 0
    with serving([off, *on.values()], body_file.read_bytes()) as urls:
        url_of = dict(zip([off, *on.values()], urls, strict=True))
        for c in counts:
            server = on.get(c, shared)
            pair = rounds.measure([rounds.Target(f"off c={c}", off, url_of[off], c),
                                   rounds.Target(f"on c={c}", server, url_of[server], c)],
                                  body_file, warmup_s=plan.warmup_s, run_s=plan.run_s,
                                  runs=plan.runs, say=say)
            row = {"connections": c, "off": pair[f"off c={c}"], "on": pair[f"on c={c}"]}
            if c == 1 and server is shared and len(counts) > 1:
                alone = row["on"]["requests"] + row["on"]["warmup_requests"]
                row["mean_batch"] = 1.0
            found.append(row)
    for row in found:  # the servers have stopped: their exit lines are in
        server = on.get(row["connections"])
        if server is not None:
            row["mean_batch"] = server.mean_batch(alone if server is shared else 0)
        row["ratio"] = round(row["on"]["rps"] / max(row["off"]["rps"], 0.1), 2)
        row["p50_delta_ms"] = round(row["on"]["p50_ms"] - row["off"]["p50_ms"], 3)
    return found


def section(copy: ServedCopy, strategy: str | None, plan: Plan, sample: Any, *,
            body_file: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """In-process first (the ceiling), then served."""
    ceiling = inprocess_ceiling(copy, strategy, plan, sample, plan.inprocess_s)
    say(f" {copy.name}: in-process, batching gives {ceiling['ratio']}x")
    return {"inprocess": ceiling, "served": run(
        copy, strategy, plan, api_limit=copy.spec().max_replica_concurrency,
        body_file=body_file, say=say)}


def inprocess_ceiling(copy: ServedCopy, strategy: str | None, plan: Plan, sample: Any,
                      seconds: float) -> dict[str, Any]:
    """predict(sample) in this process, unbatched at 1 and batch_threads threads, batched
    at batch_threads: what one call costs, and what batching gives the model before any
    HTTP, for comparison with the served ratio."""
    threads, found = plan.batch_threads, {}
    for side, batch, counts in (("off", None, (1, threads)), ("on", threads, (threads,))):
        predictor, call = inprocess.build(copy.spec(Setting(threads, 1, strategy, batch)),
                                          sample)
        found[side] = inprocess.rates(call, counts, seconds)
        if batcher := getattr(inprocess.tf_session_model(predictor), "batcher", None):
            found["mean_batch"] = round(batcher.examples / max(batcher.batches, 1), 2)
            atexit.unregister(batcher.report)  # counted here: no exit line at our exit
    key = str(threads)
    found["ratio"] = round(found["on"][key]["calls_per_s"] / found["off"][key]["calls_per_s"], 2)
    return found
