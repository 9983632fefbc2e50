"""Parser of wrk's output: our Lua script's ``bench-result`` line, cross-checked with
wrk's own text.

post_count.lua prints ``bench-result {json}`` from ``done()``: the responses counted,
the window they took, wrk's error counts and latency percentiles (µs). wrk's text says
the errors again (``Non-2xx or 3xx responses: N``, ``Socket errors: ...``): where both
are present the larger count wins, so an error is never lost to a parsing slip.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

RESULT_PREFIX = "bench-result "
THREAD_DONE = "bench: thread done"
ERROR_KINDS = ("connect", "read", "write", "status", "timeout")

_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s*(\d+)", re.MULTILINE)
_SOCKET_ERRORS = re.compile(
    r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.MULTILINE
)


class WrkOutputError(Exception):
    """wrk did not print a result (it could not connect, or our script failed)."""


@dataclass(frozen=True)
class LoadResult:
    requested: int
    counted: int  # responses received (any status)
    window_s: float  # first connection to last response
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    error_detail: dict[str, int] = field(default_factory=dict)
    client_cpu_s: float = 0.0  # wrk's own CPU time (filled in by bench.load)

    @property
    def errors(self) -> int:
        """Non-2xx/3xx responses, socket errors, timeouts, and requests never answered."""
        return sum(self.error_detail.values())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "errors": self.errors}


def parse(text: str, requested: int) -> LoadResult:
    """The result of one wrk run of ``requested`` requests from its whole stdout."""
    lines = [line for line in text.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        tail = " | ".join(line.strip() for line in text.strip().splitlines()[-3:])
        raise WrkOutputError(f"wrk printed no result line ({tail or 'no output'})")
    data = json.loads(lines[-1][len(RESULT_PREFIX):])

    detail = {kind: int(data["errors"][kind]) for kind in ERROR_KINDS}
    for kind, count in _text_errors(text).items():
        detail[kind] = max(detail[kind], count)
    counted = int(data["counted"])
    detail["missing"] = max(requested - counted, 0)

    window_s = int(data["window_us"]) / 1e6
    latency = data["latency_us"]
    return LoadResult(
        requested=requested,
        counted=counted,
        window_s=window_s,
        rps=round(counted / window_s, 1) if window_s > 0 else 0.0,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        mean_ms=round(float(latency["mean"]) / 1000, 3),
        error_detail=detail,
    )


def _text_errors(text: str) -> dict[str, int]:
    """The error counts of wrk's own summary text (absent lines: none of that kind)."""
    found: dict[str, int] = {}
    non_2xx = _NON_2XX.search(text)
    if non_2xx:
        found["status"] = int(non_2xx.group(1))
    sockets = _SOCKET_ERRORS.search(text)
    if sockets:
        kinds = ("connect", "read", "write", "timeout")
        for kind, count in zip(kinds, sockets.groups(), strict=True):
            found[kind] = int(count)
    return found
