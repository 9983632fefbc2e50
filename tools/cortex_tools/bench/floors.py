"""Section 3: the HTTP floors.

- The runtime's floor: scripts/serve.py serving noop_project (a predict that returns a
  constant), at every (threads, workers) of the served rows, so each served row has the
  HTTP cost of its own configuration beside it. ``http_floor_rps`` is the 1 x 1 one.
- The bare floor: bare_app.py (raw ASGI, no framework) on the same uvicorn, one process.

Both take the same load as the served rows, and run in the same rounds as them
(bench.rounds), so a busy spell of a shared machine hits floors and rows alike.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from cortex_tools.bench.paths import NOOP_CONFIG
from cortex_tools.bench.rounds import Target
from cortex_tools.bench.servers import bare_server, runtime_server

NOOP_ANSWER = {"label": "noop"}
BARE = "bare"


def noop_key(threads: int, workers: int) -> str:
    return f"noop t={threads} w={workers}"


def _answers_noop(status: int, text: str) -> bool:
    return status == 200 and json.loads(text) == NOOP_ANSWER


def noop_target(threads: int, workers: int) -> Target:
    return Target(noop_key(threads, workers), runtime_server(NOOP_CONFIG, None, threads, workers),
                  _answers_noop, workers)


def bare_target() -> Target:
    return Target(BARE, bare_server(), _answers_noop)


def summarize(rows: dict[str, dict[str, Any]], configs: list[tuple[int, int]]) -> dict[str, Any]:
    """Section 3 from the measured rows: the floors, and the no-op/bare ratio, paired run
    by run (the two ran back to back in every round)."""
    bare = rows[BARE]
    noop = [{"threads": t, "workers": w, **rows[noop_key(t, w)]} for t, w in configs]
    base = rows[noop_key(1, 1)]
    ratios = [n / b for n, b in zip(base["runs"], bare["runs"], strict=True)]
    return {
        "bare_asgi": bare,
        "http_floor": noop,
        "http_floor_rps": base["rps"],
        "bare_asgi_rps": bare["rps"],
        "floor_ratio": round(statistics.median(ratios), 4),
        "floor_ratio_runs": [round(r, 4) for r in ratios],
    }
