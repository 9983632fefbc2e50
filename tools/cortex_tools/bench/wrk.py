"""One timed wrk run against a server, and its result line parsed.

One wrk thread (one epoll loop keeps up with far more than a TensorFlow API serves, and
leaves the cores to the server) for whole seconds, post.lua counting the statuses. wrk's
CPU time is os.wait4's: the kernel's own account of that one child.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("post.lua")
RESULT = "bench-result "
INSTALL_HINT = "wrk is missing: `sudo apt-get install -y wrk` or `brew install wrk`"


class WrkError(Exception):
    """wrk is missing, or printed no result line (it could not connect)."""


@dataclass(frozen=True)
class Load:
    connections: int
    seconds: float
    requests: int  # responses, of any status
    p50_ms: float  # wrk's latencies: every response, whatever its status
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)  # connect, read, timeout...
    wrk_cpu_s: float = 0.0

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if status.startswith("2"))

    @property
    def rps(self) -> float:
        """2xx answers per second: a quick 503 is no throughput."""
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.requests - self.ok + sum(self.socket_errors.values())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rps": round(self.rps, 1), "errors": self.errors}


def wrk_path() -> str:
    if not (found := shutil.which("wrk")):
        raise WrkError(INSTALL_HINT)
    return found


def run(url: str, body_file: Path, connections: int, seconds: int) -> Load:
    """``connections`` connections POST the body as JSON, each one request at a time."""
    proc = subprocess.Popen(
        [wrk_path(), "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout=10s",
         "-s", str(SCRIPT), url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "BENCH_BODY_FILE": str(body_file)})
    text = proc.stdout.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return replace(parse(text, connections), wrk_cpu_s=round(usage.ru_utime + usage.ru_stime, 3))


def parse(text: str, connections: int) -> Load:
    """The Load of wrk's whole output (post.lua's ``bench-result`` line)."""
    lines = [line for line in text.splitlines() if line.startswith(RESULT)]
    if not lines:
        tail = " | ".join(line.strip() for line in text.strip().splitlines()[-3:])
        raise WrkError(f"wrk printed no result ({tail or 'no output'})")
    data = json.loads(lines[-1][len(RESULT):])
    ms = {k: v / 1000 for k, v in data["latency_us"].items()}
    return Load(connections, data["duration_us"] / 1e6, data["requests"], ms["p50"], ms["p90"],
                ms["p99"], ms["max"], {str(k): v for k, v in data["statuses"].items()},
                {k: v for k, v in data["errors"].items() if v})
