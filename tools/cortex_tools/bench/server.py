"""The local runtime serving one setting: a subprocess in its own process group.

Ready means it printed ``serving API ...`` (every worker built its predictor and
serves): we wait on that line, never on a timer. psutil reads the CPU time of all its
processes and each worker's RSS. It is stopped with SIGTERM, as Cortex stops a replica,
so that a batching worker prints ``tf_session: server_side_batching ran N requests in M
batches`` as it exits: the only place a worker says how it batched.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

READY = re.compile(r"^serving API \S+: .* at (?P<url>http://\S+)$")
BATCHED = re.compile(r"server_side_batching ran (?P<requests>\d+) requests in (?P<batches>\d+)")
START_TIMEOUT_S = 240  # several TensorFlow workers starting at once on 2 busy cores
STOP_TIMEOUT_S = 30  # the runtime gives in-flight requests 10 s, then its workers exit
CHILD_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1"}


class ServerError(Exception):
    """It did not start, or answered the sample wrongly (its output's tail says why)."""


class Server:
    ready_line = READY  # the line that says it serves; its "url" group, or "port"

    def __init__(self, config: Path, api: str, label: str) -> None:
        self.label = label
        self.command = [sys.executable, "-m", "cortex_tools.runtime", "--config", str(config),
                        "--api", api, "--host", "127.0.0.1", "--port", "0", "--no-access-log"]
        self.tail: collections.deque[str] = collections.deque(maxlen=30)
        self.batch_lines: list[str] = []
        self.url: str | None = None
        self._ready = threading.Event()
        self.proc: subprocess.Popen[str] | None = None
        self._terminated = False
        self.env: dict[str, str] = {}

    def launch(self) -> None:
        self.proc = subprocess.Popen(
            self.command, env={**os.environ, **CHILD_ENV, **self.env}, text=True,
            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, output: Any) -> None:
        for raw in output:  # all of it, so that the server never blocks on the pipe
            line = raw.rstrip("\n")
            self.tail.append(line)
            if BATCHED.search(line):
                self.batch_lines.append(line)
            if self.url is None and (match := self.ready_line.match(line)):
                groups = match.groupdict()
                self.url = groups.get("url") or f"http://127.0.0.1:{groups['port']}/"
                self._ready.set()
        self._ready.set()  # it exited: stop waiting

    def wait_ready(self, body: bytes) -> str:
        """Its URL, once it serves and answers the sample with a 2xx."""
        self._ready.wait(START_TIMEOUT_S)
        if self.url is None:
            raise ServerError(f"{self.label} did not start:\n" + "\n".join(self.tail))
        status, text, _ = post(self.url, body)
        if not 200 <= status < 300:
            raise ServerError(f"{self.label} answered the sample {status}: {text[:300]}")
        return self.url

    def processes(self) -> list[psutil.Process]:
        """Its parent and children as they are now (a restarted worker is a new one)."""
        with contextlib.suppress(psutil.NoSuchProcess, AttributeError):
            parent = psutil.Process(self.proc.pid)  # type: ignore[union-attr]
            return [parent, *parent.children(recursive=True)]
        return []

    def cpu_s(self) -> float:
        """CPU seconds (user + system) of all its processes so far."""
        total = 0.0
        for process in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += sum(process.cpu_times()[:2])
        return total

    def worker_rss_mb(self) -> dict[str, float]:
        """pid -> resident MB of each worker: a child running spawn_main (the other child
        is multiprocessing's resource tracker)."""
        found = {}
        for process in self.processes()[1:]:
            with contextlib.suppress(psutil.NoSuchProcess):
                if any("spawn_main" in part for part in process.cmdline()):
                    found[str(process.pid)] = round(process.memory_info().rss / 2**20, 1)
        return found

    def terminate(self) -> None:
        """SIGTERM, once: a second one makes the runtime SIGKILL its workers at once."""
        if self.proc is not None and not self._terminated and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self._terminated = True

    def stop(self) -> None:
        """SIGTERM and wait for the exit; SIGKILL its group after STOP_TIMEOUT_S."""
        if self.proc is None:
            return
        self.terminate()
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        time.sleep(0.05)  # the reader thread takes the last lines

    def mean_batch(self, alone: int = 0) -> float | None:
        """Requests per batch over its workers' exit lines, less the requests known to
        have run one per batch: the sample that wait_ready sent, and ``alone`` more (those
        of a single connection); None without batching."""
        found = [m for line in self.batch_lines if (m := BATCHED.search(line))]
        requests = sum(int(m["requests"]) for m in found) - 1 - alone
        batches = sum(int(m["batches"]) for m in found) - 1 - alone
        return round(requests / batches, 2) if found and batches > 0 else None


@contextlib.contextmanager
def serving(servers: list[Server], body: bytes) -> Iterator[list[str]]:
    """The servers of a group started side by side, ready, their URLs; on the way out
    SIGTERM to all first, so that their shutdowns overlap."""
    try:
        for server in servers:
            server.launch()
        yield [server.wait_ready(body) for server in servers]
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.stop()


def post(url: str, body: bytes, timeout: float = 30) -> tuple[int, str, float]:
    """One POST of the sample: (status, body text, milliseconds)."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode(errors="replace")
    return status, text, round((time.perf_counter() - started) * 1000, 2)
