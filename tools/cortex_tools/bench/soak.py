"""Soak and overload at the recommended setting (their two servers start together).

- Soak: a warm-up, then thousands of requests at 16 connections in consecutive wrk runs,
  each worker's RSS read after the warm-up and after every run: a worker that grows with
  every request shows here long before it runs out of memory on a cluster.
- Overload: 4x max_replica_concurrency connections. Past the limit a worker answers 503
  at once (Cortex's 1 + round(max / workers) per worker); a user wants the share
  refused, how slow the answered got, and that the API serves normally right after.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cortex_tools.bench import wrk
from cortex_tools.bench.plan import Plan
from cortex_tools.bench.served_copy import ServedCopy
from cortex_tools.bench.server import Server, post, serving
from cortex_tools.bench.setting import Setting

OVERLOAD_FACTOR = 4
MAX_WRK_CONNECTIONS = 256  # beyond this, wrk's one thread would be what is tested
GENERATED_LIMIT = 16  # the overload row's max_replica_concurrency when 4x the API's is more


def overload_limit(api_limit: int) -> int:
    return api_limit if OVERLOAD_FACTOR * api_limit <= MAX_WRK_CONNECTIONS else GENERATED_LIMIT


def run(copy: ServedCopy, best: Setting, plan: Plan, *, api_limit: int, body_file: Path,
        say: Callable[[str], None]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(soak, overload)."""
    limit = overload_limit(api_limit)
    crowded = Setting(best.threads, best.workers, best.strategy, best.batch, limit)
    soaked = Server(copy.config_for(best), copy.name, f"soak {best.key}")
    overloaded = Server(copy.config_for(crowded), copy.name, f"overload {crowded.key}")
    body = body_file.read_bytes()
    with serving([soaked, overloaded], body) as (url, crowded_url):
        wrk.run(url, body_file, plan.soak_connections, plan.warmup_s)
        samples, loads = [soaked.worker_rss_mb()], []
        for _ in range(plan.soak_chunks):
            loads.append(wrk.run(url, body_file, plan.soak_connections,
                                 max(plan.soak_s // plan.soak_chunks, 1)))
            samples.append(soaked.worker_rss_mb())
        crowd = wrk.run(crowded_url, body_file, OVERLOAD_FACTOR * limit, plan.overload_s)
        after = recovery(crowded_url, body)
    seconds = sum(x.seconds for x in loads)
    soak = {"setting_key": best.key, "connections": plan.soak_connections,
            "seconds": round(seconds, 1), "requests": sum(x.requests for x in loads),
            "errors": sum(x.errors for x in loads),
            "rps": round(sum(x.ok for x in loads) / seconds, 1),
            "p99_ms_max": max(x.p99_ms for x in loads), "rss_samples": samples,
            **rss_growth(samples)}
    say(f"  soak: {soak['requests']} requests, {soak['errors']} errors, worker RSS "
        f"{soak['rss_growth_mb']:+.1f} MB after the warm-up")
    overload = {"setting_key": crowded.key, "max_replica_concurrency": limit,
                "api_max_replica_concurrency": api_limit, "connections": crowd.connections,
                "requests": crowd.requests, "rps": round(crowd.rps, 1),
                "share_503": round(crowd.statuses.get("503", 0) / max(crowd.requests, 1), 4),
                "statuses": crowd.statuses, "socket_errors": crowd.socket_errors,
                "p50_ms": crowd.p50_ms, "p99_ms": crowd.p99_ms,
                "after": after}
    say(f"  overload: {crowd.connections} connections, {100 * overload['share_503']:.0f}% 503, "
        f"p99 {crowd.p99_ms:.1f} ms; right after: {after}")
    return soak, overload


def recovery(url: str, body: bytes, give_up_s: float = 10.0) -> dict[str, Any]:
    """Requests one after another as soon as the crowd has gone, until one answers 2xx:
    the first one's status, and how long until a 2xx (requests the crowd left in flight
    still count against the limit until they finish)."""
    started, statuses = time.perf_counter(), []
    while True:
        statuses.append(post(url, body)[0])
        waited = time.perf_counter() - started
        if 200 <= statuses[-1] < 300 or waited > give_up_s:
            return {"first_status": statuses[0], "status": statuses[-1],
                    "requests": len(statuses), "ms": round(waited * 1000, 1)}
        time.sleep(0.005)


def rss_growth(samples: list[dict[str, float]]) -> dict[str, Any]:
    """Start (after the warm-up), middle and end RSS of each worker there throughout, and
    the largest growth from start to end."""
    workers = [pid for pid in samples[0] if all(pid in s for s in samples)]
    middle = samples[len(samples) // 2]
    per_worker = {pid: {"start": samples[0][pid], "middle": middle[pid], "end": samples[-1][pid]}
                  for pid in workers}
    most = max(per_worker.values(), key=lambda w: w["end"] - w["start"],
               default={"start": 1.0, "end": 1.0})
    return {"rss_mb": per_worker, "rss_growth_mb": round(most["end"] - most["start"], 1),
            "rss_growth_pct": round(100 * (most["end"] - most["start"]) / most["start"], 2),
            # The runtime replaces a worker that dies: a new pid mid-soak says it happened.
            "workers_replaced": any(set(s) != set(samples[0]) for s in samples)}
