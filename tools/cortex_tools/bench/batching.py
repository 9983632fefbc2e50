"""Batching off against on at the same threads (1 worker), at each connection count.

Two batched sides: batch_interval 0 (a batch takes what is queued) and BATCH_INTERVAL
(a batch waits, that long at most, for as many requests as the last one held). Each has
a server per connection count (but 1), since a worker reports its batches only once, as
it stops: so each count's mean batch size is its own. At each count the three take
turns in the same rounds.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from cortex_tools.bench import inprocess, rounds
from cortex_tools.bench.plan import Plan
from cortex_tools.bench.served_copy import ServedCopy
from cortex_tools.bench.server import Server, serving
from cortex_tools.bench.setting import BATCH_INTERVAL, Setting
from cortex_tools.bench.timing import BatchCost

# The batched sides: name -> batch_interval.
SIDES = {"on": 0, "wait": BATCH_INTERVAL}


def run(copy: ServedCopy, strategy: str | None, plan: Plan, *, api_limit: int,
        body_file: Path, say: Callable[[str], None],
        between_rounds: Callable[[], None] | None = None) -> list[dict[str, Any]]:
    """One row per connection count: off, and each batched side with its mean batch, its
    req/s over off's (ratio) and its p50 less off's (p50_delta_ms). `between_rounds` is
    called after each round of wrk runs."""
    threads, counts = plan.batch_threads, sorted(plan.batch_connections)
    # Room for the most connections, so that no 503 stands in for a slow answer.
    limit = max(api_limit, 2 * counts[-1])
    off = Server(copy.config_for(Setting(threads, 1, strategy, None, limit)), copy.name, "off")
    on: dict[str, dict[int, Server]] = {}
    for side, interval in SIDES.items():
        config = copy.config_for(Setting(threads, 1, strategy, threads, limit, interval))
        on[side] = {c: Server(config, copy.name, f"{side} c={c}") for c in counts
                    if c != 1 or len(counts) == 1}
    # A single connection runs one request per batch, so its requests can be taken out of
    # a server's exit line: count 1 shares the batched server of the top count, first.
    shared = {side: servers[counts[-1]] for side, servers in on.items()}
    everyone = [off, *(s for servers in on.values() for s in servers.values())]
    found, alone = [], {}
    with serving(everyone, body_file.read_bytes()) as urls:
        url_of = dict(zip(everyone, urls, strict=True))
        for c in counts:
            servers = {"off": off, **{side: on[side].get(c, shared[side]) for side in SIDES}}
            measured = rounds.measure(
                [rounds.Target(f"{side} c={c}", server, url_of[server], c)
                 for side, server in servers.items()],
                body_file, warmup_s=plan.warmup_s, run_s=plan.run_s, runs=plan.runs, say=say,
                between_rounds=between_rounds)
            row = {"connections": c, **{side: measured[f"{side} c={c}"] for side in servers}}
            for side in SIDES:
                if c == 1 and servers[side] is shared[side] and len(counts) > 1:
                    alone[side] = row[side]["requests"] + row[side]["warmup_requests"]
                    row[side]["mean_batch"] = 1.0
            found.append(row)
    for row in found:  # the servers have stopped: their exit lines are in
        for side in SIDES:
            part, server = row[side], on[side].get(row["connections"])
            if server is not None:
                part["mean_batch"] = server.mean_batch(
                    alone.get(side, 0) if server is shared[side] else 0)
            part["ratio"] = round(part["rps"] / max(row["off"]["rps"], 0.1), 2)
            part["p50_delta_ms"] = round(part["p50_ms"] - row["off"]["p50_ms"], 3)
    return found


def section(copy: ServedCopy, strategy: str | None, plan: Plan, sample: Any, *,
            body_file: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """In-process first (the ceiling), then served. The model's cost of one example and of
    a batch (the Amdahl bound's m and cost(B)) is sampled again after each served round and
    summed up over all samples: the bound sets it against the served CPU per request, and
    a figure taken minutes apart from that one can be off by half (the machine's speed
    drifts), which a difference such as c - m magnifies."""
    ceiling, cost = inprocess_ceiling(copy, strategy, plan, sample, plan.inprocess_s)
    if first := ceiling["batch_cost"]:  # the samples taken before serving
        say(f" {copy.name}: a batch of {first['size']} costs {first['ratio']}x one example")
    say(f" {copy.name}: in-process, batching gives {ceiling['ratio']}x")
    per_round = max(1, plan.cost_repeats // plan.runs)
    served = run(copy, strategy, plan, api_limit=copy.spec().max_replica_concurrency,
                 body_file=body_file, say=say,
                 between_rounds=None if cost is None else partial(cost.sample, per_round))
    if cost is not None:
        ceiling["batch_cost"] = cost.medians()
    return {"inprocess": ceiling, "served": served}


def inprocess_ceiling(copy: ServedCopy, strategy: str | None, plan: Plan, sample: Any,
                      seconds: float) -> tuple[dict[str, Any], BatchCost | None]:
    """predict(sample) in this process, unbatched at 1 and batch_threads threads, batched
    (BATCH_INTERVAL) at batch_threads: what one call costs, and what batching gives the
    model before any HTTP, for comparison with the served ratio; and what one sess.run of
    batch_threads examples costs against one of a single example (batch_cost, sampled
    plan.cost_repeats times; also returned, to sample more)."""
    threads, found, cost = plan.batch_threads, {}, None
    for side, batch, counts in (("off", None, (1, threads)), ("on", threads, (threads,))):
        predictor, call = inprocess.build(copy.spec(Setting(threads, 1, strategy, batch)),
                                          sample)
        model = inprocess.tf_session_model(predictor)
        found[side] = inprocess.rates(call, counts, seconds)
        if side == "off":
            cost = BatchCost.of(model, call, threads)
            if cost is not None:
                cost.sample(plan.cost_repeats)
            found["batch_cost"] = cost and cost.medians()
        elif model.batcher is not None:
            batcher = model.batcher  # no batch ran: None, never a mean of 0
            found["mean_batch"] = (round(batcher.examples / batcher.batches, 2)
                                   if batcher.batches else None)
            atexit.unregister(model.batcher.report)  # counted here: no exit line at our exit
    key = str(threads)
    found["ratio"] = round(found["on"][key]["calls_per_s"] / found["off"][key]["calls_per_s"], 2)
    return found, cost
