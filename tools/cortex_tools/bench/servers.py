"""The servers under test, each a subprocess in its own process group.

A server is ready when it prints its start-up line (the runtime: ``serving API ...``;
the bare app: ``serving bare ASGI at ...``): we wait on that line, never on a timer. Its
CPU time is read from /proc for each process of its group (the runtime's parent and its
workers), so a run can say how many cores the server used, and how evenly its workers
shared the work.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import yaml

from cortex_tools.bench.inprocess import shipped_config
from cortex_tools.bench.paths import BENCH_DIR, MODEL_DIR, PREDICTOR_FILE, ROOT, SERVE

RUNTIME_READY = re.compile(r"^serving API \S+: .* at (?P<url>http://\S+)$")
BARE_READY = re.compile(r"^serving bare ASGI at (?P<url>http://\S+)$")
START_TIMEOUT_S = 180  # TensorFlow workers on a busy 2-core machine can take a while
STOP_GRACE_S = 2  # then SIGKILL: a bench has no state to save, TF's exit takes seconds

CHILD_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1"}
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class ServerError(Exception):
    """A server did not start (its output's tail says why)."""


class ServerProcess:
    def __init__(self, name: str, command: list[str], ready: re.Pattern[str]) -> None:
        self.name = name
        self.command = command
        self.ready = ready
        self.lines: list[str] = []
        self.url: str | None = None
        self._ready = threading.Event()
        self.proc: subprocess.Popen[str] | None = None

    def launch(self) -> None:
        """Start it (several can start side by side; then ``wait_ready`` each)."""
        self.proc = subprocess.Popen(
            self.command, cwd=ROOT, env={**os.environ, **CHILD_ENV}, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        threading.Thread(target=self._read, daemon=True, name=f"{self.name}-output").start()

    def start(self, timeout: float = START_TIMEOUT_S) -> str:
        """Start it and wait for its start-up line; its URL."""
        self.launch()
        return self.wait_ready(timeout)

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> str:
        """Its URL, once it has printed its start-up line (ServerError if it never does)."""
        self._ready.wait(timeout)
        if self.url is None:
            self.stop()
            tail = "\n".join(self.lines[-15:])
            raise ServerError(f"{self.name} did not get ready within {timeout:.0f} s:\n{tail}")
        return self.url

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:  # read to the end, so the server never blocks on us
            self.lines.append(line.rstrip("\n"))
            match = self.ready.match(self.lines[-1])
            if match and self.url is None:
                self.url = match["url"]
                self._ready.set()
        self._ready.set()  # it exited: stop waiting

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of every live process of its group so far."""
        return sum(self.cpu_by_pid().values())

    def cpu_by_pid(self) -> dict[int, float]:
        """CPU seconds so far of each live process of its group (the parent's included)."""
        if self.proc is None:
            return {}
        return {pid: ticks / _CLOCK_TICKS for pid, ticks in group_cpu_ticks(self.proc.pid).items()}

    def stop(self) -> None:
        """SIGTERM, and SIGKILL to the whole group after a short grace."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(STOP_GRACE_S)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own group: workers too
        self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def group_cpu_ticks(pgid: int) -> dict[int, int]:
    """pid -> utime + stime (clock ticks) of the live processes of process group ``pgid``."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        # After "pid (comm)": state ppid pgrp ... utime (14th field) stime (15th).
        if int(fields[2]) == pgid:
            found[int(entry.name)] = int(fields[11]) + int(fields[12])
    return found


@functools.cache
def runtime_has_no_access_log() -> bool:
    """Whether the runtime offers --no-access-log (else we measure with the log on)."""
    help_text = subprocess.run(
        [sys.executable, *SERVE, "--help"], capture_output=True, text=True, cwd=ROOT
    ).stdout
    return "--no-access-log" in help_text


def runtime_server(config: Path, api: str | None, threads: int, workers: int) -> ServerProcess:
    """The local runtime on a free loopback port, with the threads and workers given."""
    command = [sys.executable, *SERVE, "--config", str(config), "--host", "127.0.0.1",
               "--port", "0", "--threads", str(threads), "--workers", str(workers)]
    if api:
        command += ["--api", api]
    if runtime_has_no_access_log():
        command.append("--no-access-log")
    label = f"runtime {api or config.parent.name} t={threads} w={workers}"
    return ServerProcess(label, command, RUNTIME_READY)


def bare_server() -> ServerProcess:
    command = [sys.executable, str(BENCH_DIR / "bare_app.py")]
    return ServerProcess("bare ASGI", command, BARE_READY)


SERVED_APIS = {"per_request": "bench-per-request", "once_per_thread": "bench-once-per-thread"}
# once_per_thread without cortex.yaml's session options: TensorFlow's own thread pools.
TF_DEFAULTS_API = "bench-once-per-thread-tf-defaults"


@contextlib.contextmanager
def served_project(folder: Path) -> Iterator[Path]:
    """A project with the shipped predictor.py and model/, one API per strategy with
    cortex.yaml's predictor config (and TF_DEFAULTS_API without its session options), and
    no other settings (so max_replica_concurrency is Cortex's 1024: no 503 at our load).
    Yields its config file; the project is a copy, so edits in the tree cannot race us."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copy(PREDICTOR_FILE, folder / "predictor.py")
        shutil.copytree(MODEL_DIR, folder / "model", dirs_exist_ok=True)
        apis = [
            {"name": name, "predictor": {"type": "python", "path": "predictor.py",
                                         "config": shipped_config(s, model="model")}}
            for s, name in SERVED_APIS.items()
        ]
        defaults = shipped_config("once_per_thread", model="model", tf_defaults=True)
        apis.append({"name": TF_DEFAULTS_API, "predictor": {
            "type": "python", "path": "predictor.py", "config": defaults}})
        config = folder / "cortex.yaml"
        config.write_text(yaml.safe_dump(apis, sort_keys=False))
        yield config
    finally:
        shutil.rmtree(folder, ignore_errors=True)
