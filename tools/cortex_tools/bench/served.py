"""Section 4: the shipped predictor.py and model served by the runtime, for both
strategies x threads_per_worker x workers_per_replica, under the fixed load.

The servers of one (threads, workers) run in the same rounds as the no-op floor of that
configuration (bench.rounds), so strategies and floor are compared under the same
conditions of a shared machine.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from cortex_tools.bench.rounds import Target
from cortex_tools.bench.servers import SERVED_APIS, TF_DEFAULTS_API, runtime_server

TF_DEFAULTS = "once (TF's pools)"  # key of the once_per_thread server with TF's defaults


def served_key(strategy: str, threads: int, workers: int) -> str:
    return f"{strategy} t={threads} w={workers}"


def _answers_prediction(status: int, text: str) -> bool:
    return status == 200 and "label" in json.loads(text)


def served_target(config: Path, strategy: str, threads: int, workers: int) -> Target:
    return Target(served_key(strategy, threads, workers),
                  runtime_server(config, SERVED_APIS[strategy], threads, workers),
                  _answers_prediction, workers)


def tf_defaults_key(threads: int, workers: int) -> str:
    return served_key(TF_DEFAULTS, threads, workers)


def tf_defaults_target(config: Path, threads: int, workers: int) -> Target:
    return Target(tf_defaults_key(threads, workers),
                  runtime_server(config, TF_DEFAULTS_API, threads, workers),
                  _answers_prediction, workers)


def session_options_rows(measured: dict[str, dict[str, Any]],
                         configs: tuple[tuple[int, int], ...]) -> list[dict[str, Any]]:
    """once_per_thread with cortex.yaml's session options against TensorFlow's defaults,
    served side by side: each rate, and their ratio paired run by run (same round)."""
    found = []
    for threads, workers in configs:
        shipped = measured[served_key("once_per_thread", threads, workers)]
        defaults = measured[tf_defaults_key(threads, workers)]
        ratios = [a / b for a, b in zip(shipped["runs"], defaults["runs"], strict=True)]
        found.append({"threads": threads, "workers": workers, "shipped_rps": shipped["rps"],
                      "tf_defaults_rps": defaults["rps"],
                      "tf_defaults_errors": defaults["errors"],
                      "ratio": round(statistics.median(ratios), 3),
                      "ratio_runs": [round(r, 3) for r in ratios]})
    return found


def rows(measured: dict[str, dict[str, Any]], configs: list[tuple[int, int]],
         strategies: tuple[str, ...]) -> list[dict[str, Any]]:
    """The served rows in report order: by workers, threads, strategy."""
    return [{"strategy": s, "threads": t, "workers": w, **measured[served_key(s, t, w)]}
            for t, w in configs for s in strategies]
