"""Section 4: the shipped predictor.py and model served by the runtime, for both
strategies x threads_per_worker x workers_per_replica, under the fixed load.

The servers of one (threads, workers) run in the same rounds as the no-op floor of that
configuration (bench.rounds), so strategies and floor are compared under the same
conditions of a shared machine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.rounds import Target
from bench.servers import SERVED_APIS, runtime_server


def served_key(strategy: str, threads: int, workers: int) -> str:
    return f"{strategy} t={threads} w={workers}"


def _answers_prediction(status: int, text: str) -> bool:
    return status == 200 and "label" in json.loads(text)


def served_target(config: Path, strategy: str, threads: int, workers: int) -> Target:
    return Target(served_key(strategy, threads, workers),
                  runtime_server(config, SERVED_APIS[strategy], threads, workers),
                  _answers_prediction, workers)


def rows(measured: dict[str, dict[str, Any]], configs: list[tuple[int, int]],
         strategies: tuple[str, ...]) -> list[dict[str, Any]]:
    """The served rows in report order: by workers, threads, strategy."""
    return [{"strategy": s, "threads": t, "workers": w, **measured[served_key(s, t, w)]}
            for t, w in configs for s in strategies]
