"""Drive a server with wrk: a fixed number of requests at a fixed concurrency.

wrk only knows durations, so post_count.lua stops each wrk thread after its share of the
requests and says so on stdout; we then SIGINT wrk, which makes it print its summary at
once instead of idling to the end of -d (-d is only a guard against a hung server).
``summarize`` turns a row's runs into its figures (medians, errors summed).
"""

from __future__ import annotations

import dataclasses
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cortex_tools.bench import wrk_output
from cortex_tools.bench.paths import SAMPLE, WRK_SCRIPT
from cortex_tools.bench.wrk_output import LoadResult

WRK_THREADS = 1  # one epoll thread keeps up with >50k req/s and leaves the cores to the server
GUARD_S = 300  # wrk's -d: a run that has not finished by then is cut (and counted missing)
WRK_TIMEOUT = "10s"  # a response slower than this counts as a timeout error

INSTALL_HINT = (
    "wrk (the HTTP load generator) is not installed. Install it with:\n"
    "  sudo apt-get install -y wrk     # Debian/Ubuntu\n"
    "  brew install wrk                # macOS\n"
    "then run `make bench` again."
)


class LoadError(Exception):
    """wrk is missing or a run could not be made."""


def ensure_wrk(install: bool = True, say: Callable[[str], None] = print) -> str:
    """wrk's path; installed with apt-get when missing, if we are root and apt-get exists."""
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    can_install = hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")
    if install and can_install:
        say("wrk is missing: installing it (apt-get update && apt-get install -y wrk)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
            done = subprocess.run(command, env=env, stdout=sys.stderr, stderr=sys.stderr)
            if done.returncode != 0:
                break
        wrk = shutil.which("wrk")
        if wrk:
            return wrk
    raise LoadError(INSTALL_HINT)


def run_wrk(url: str, requests: int, concurrency: int, body: Path = SAMPLE) -> LoadResult:
    """One wrk run of ``requests`` POSTs of ``body`` (JSON) at ``concurrency`` connections."""
    wrk = ensure_wrk(install=False)
    env = {**os.environ, "BENCH_BODY_FILE": str(body), "BENCH_REQUESTS": str(requests),
           "BENCH_WRK_THREADS": str(WRK_THREADS)}
    command = [wrk, f"-t{WRK_THREADS}", f"-c{concurrency}", f"-d{GUARD_S}s",
               f"--timeout={WRK_TIMEOUT}", "-s", str(WRK_SCRIPT), url]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    assert proc.stdout is not None
    lines, done = [], 0
    before = _children_cpu_s()
    for line in proc.stdout:
        lines.append(line)
        if line.startswith(wrk_output.THREAD_DONE):
            done += 1
            if done == WRK_THREADS:
                proc.send_signal(signal.SIGINT)  # all threads are done: summary now
    proc.wait()
    result = wrk_output.parse("".join(lines), requests)
    # wrk is the only child reaped meanwhile (servers outlive their rows): its CPU time.
    return dataclasses.replace(result, client_cpu_s=round(_children_cpu_s() - before, 3))


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summarize(results: list[LoadResult], server_cpu_s: list[float]) -> dict[str, Any]:
    """A row from its runs: median rate and latencies, errors summed over all runs, and
    CPU per request (µs) of the server (``server_cpu_s``: its CPU seconds in each run)
    and of wrk. The server's figure spans wrk's whole run, including the few ms between
    the last response and wrk's exit: a slight overestimate."""
    def median(values: Any, digits: int = 3) -> float:
        return round(statistics.median(values), digits)

    errors: dict[str, int] = {}
    for result in results:
        for kind, count in result.error_detail.items():
            errors[kind] = errors.get(kind, 0) + count
    rps = median([r.rps for r in results], 1)
    server_us = median([c / max(r.counted, 1) * 1e6 for c, r in
                        zip(server_cpu_s, results, strict=True)], 1)
    wrk_us = median([r.client_cpu_s / max(r.counted, 1) * 1e6 for r in results], 1)
    return {
        "rps": rps,
        "p50_ms": median([r.p50_ms for r in results]),
        "p90_ms": median([r.p90_ms for r in results]),
        "p99_ms": median([r.p99_ms for r in results]),
        "max_ms": round(max(r.max_ms for r in results), 3),
        "errors": sum(errors.values()),
        "error_detail": {kind: n for kind, n in errors.items() if n},
        "runs": [round(r.rps, 1) for r in results],
        "requests": results[0].requested,
        "server_cpu_us_per_request": server_us,
        "server_cores": round(server_us * rps / 1e6, 2),
        "wrk_cpu_us_per_request": wrk_us,
        "wrk_cores": round(wrk_us * rps / 1e6, 2),
    }


def probe(url: str, body: Path = SAMPLE, timeout: float = 30) -> tuple[int, str]:
    """One POST before a row: (status, body text), so a broken server fails loudly
    instead of turning into a fast row of errors."""
    request = urllib.request.Request(url, data=body.read_bytes(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
