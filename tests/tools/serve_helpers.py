"""Helpers for the tests of `make serve` and the curl scripts: projects, servers, HTTP.

A test writes a project folder (a cortex.yaml and the predictor files from
tests/tools/serve_predictors/), starts the local runtime on it as a subprocess on a free
loopback port (--port 0: the server picks one and prints it), and waits for the ready
line on its stdout: no sleeping in place of a signal.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPResponse, RemoteDisconnected
from pathlib import Path
from typing import Any

import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
SERVE = ("-m", "cortex_tools.runtime")  # the local runtime, as a python command
PREDICTORS = Path(__file__).resolve().parent / "serve_predictors"
FAKE_CORTEX_DIR = Path(__file__).resolve().parent / "fake_cortex"
READY = re.compile(r"^serving API (?P<api>\S+): .* at (?P<url>http://\S+)$")
ACCESS_LINE = r"pid-\d+ INFO {method} {path} {status} \d+\.\dms"

# No GPU use and less log noise in servers and their TensorFlow.
CHILD_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}


def api(name: str, predictor: str, *, config: dict | None = None, threads: int | None = None,
        workers: int | None = None, max_concurrency: int | None = None,
        **extra: Any) -> dict:
    """One API of a cortex.yaml, with only the keys given (`extra`: more top-level keys)."""
    entry: dict[str, Any] = {"name": name, "predictor": {"type": "python", "path": predictor}}
    if config:
        entry["predictor"]["config"] = config
    autoscaling = {
        key: value
        for key, value in (("threads_per_worker", threads), ("workers_per_replica", workers),
                           ("max_replica_concurrency", max_concurrency))
        if value is not None
    }
    if autoscaling:
        entry["autoscaling"] = autoscaling
    entry.update(extra)
    return entry


def write_project(folder: Path, apis: list[dict], files: dict[str, str] | None = None) -> Path:
    """A project: cortex.yaml with `apis`, and the predictor files they name (copied from
    tests/serve_predictors, with tf_user_code.py where a tf_* one is used). Returns the
    config path."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in apis:
        source = PREDICTORS / entry["predictor"]["path"]
        if source.is_file():
            shutil.copy(source, folder / source.name)
        if source.name.startswith("tf_"):
            shutil.copy(PREDICTORS / "tf_user_code.py", folder / "tf_user_code.py")
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    config = folder / "cortex.yaml"
    config.write_text(yaml.safe_dump(apis, sort_keys=False))
    return config


class Server:
    """The local runtime (python -m cortex_tools.runtime) as a subprocess, stdout and
    stderr merged and collected."""

    def __init__(self, config: Path, *args: str, env: dict[str, str] | None = None,
                 launcher: tuple[str, ...] = SERVE) -> None:
        self.command = [sys.executable, *launcher, "--config", str(config), "--port", "0", *args]
        self.env = {**os.environ, **CHILD_ENV, **(env or {})}
        self.lines: list[str] = []
        self.url: str | None = None
        self._ready = threading.Event()
        self._new_line = threading.Condition()
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> Server:
        # Its own session: a test can Ctrl-C it as a terminal would (the whole group).
        self.proc = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=self.env, start_new_session=True, cwd=ROOT)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._new_line:
                self.lines.append(line.rstrip("\n"))
                self._new_line.notify_all()
            match = READY.match(self.lines[-1])
            if match:
                self.url = match["url"]
                self._ready.set()
        self._ready.set()  # exited: wait_ready stops waiting

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self, timeout: float = 90) -> str:
        self._ready.wait(timeout)
        if self.url is None:
            raise AssertionError(f"the server did not get ready:\n{self.output}")
        return self.url

    def wait_for_line(self, pattern: str, timeout: float = 10, nth: int = 1) -> str:
        """The `nth` output line matching `pattern`, waiting for it to appear."""
        def nth_match() -> str | None:
            matches = [line for line in self.lines if re.search(pattern, line)]
            return matches[nth - 1] if len(matches) >= nth else None

        with self._new_line:
            line = self._new_line.wait_for(nth_match, timeout)
        if line is None:
            raise AssertionError(f"no line {nth} matches {pattern!r} in:\n{self.output}")
        return line

    def worker_pids(self) -> list[int]:
        """The pid of each worker started so far, from its "loading the predictor" line."""
        return [int(line.split("pid-")[1].split()[0])
                for line in self.lines if "loading the predictor" in line]

    def signal(self, sig: int, group: bool = False) -> None:
        assert self.proc is not None
        if group:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)

    def wait(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL for the whole process group if anything is left."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # workers too, if any outlived it
        return self.proc.wait(10)

    def __enter__(self) -> Server:
        if self.proc is None:
            self.start()
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_all(servers: list[Server]) -> None:
    """SIGTERM to all first, so they shut down side by side (TensorFlow's exit is slow)."""
    for server in servers:
        if server.proc is not None and server.proc.poll() is None:
            server.signal(signal.SIGTERM)
    for server in servers:
        server.stop()


@contextlib.contextmanager
def running(servers: dict[str, Server], timeout: float = 90) -> Iterator[dict[str, Server]]:
    """Start the servers side by side, wait until each is ready, stop them all after."""
    for server in servers.values():
        server.start()
    try:
        for server in servers.values():
            server.wait_ready(timeout)
        yield servers
    finally:
        stop_all(list(servers.values()))


@contextlib.contextmanager
def stub_iris_apis(folder: Path) -> Iterator[dict[str, str]]:
    """Two stub iris APIs for the curl scripts: for sample.json, the API "setosa" answers
    setosa (as a good deploy does), "versicolor" answers versicolor; name -> URL."""
    config = write_project(folder, [api("setosa", "stub_iris.py"),
                                    api("versicolor", "stub_iris.py",
                                        config={"label": "versicolor"})])
    apis = {name: Server(config, "--api", name) for name in ("setosa", "versicolor")}
    with running(apis) as servers:
        yield {name: server.url for name, server in servers.items()}


@dataclass
class Reply:
    status: int
    headers: requests.structures.CaseInsensitiveDict
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def http(method: str, url: str, timeout: float = 60, **kwargs: Any) -> Reply:
    """One request on a fresh connection."""
    response = requests.request(method, url, timeout=timeout, **kwargs)
    return Reply(response.status_code, response.headers, response.text)


def post_json(url: str, payload: Any, timeout: float = 60) -> Reply:
    return http("POST", url, json=payload, timeout=timeout)


@dataclass
class RawReply:
    """An answer read off a raw socket: status None if the server closed without one."""

    status: int | None
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split("/")[0].rsplit(":", 1)
    return host.strip("[]"), int(port)


def raw_request(url: str, data: bytes, timeout: float = 30, method: str = "") -> RawReply:
    """`data` as is on a fresh connection, and the one answer it gets (parsed by
    http.client; a HEAD request's answer has no body: say `method`)."""
    with socket.create_connection(host_port(url), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # the server may answer and close mid-send
            sock.sendall(data)
        response = HTTPResponse(sock, method=method or None)
        try:
            response.begin()
            body = response.read()
        except (RemoteDisconnected, ConnectionResetError):
            return RawReply(None, {}, b"")
        return RawReply(response.status,
                        {name.lower(): value for name, value in response.getheaders()}, body)


def idle_sockets(url: str, count: int) -> list[socket.socket]:
    """`count` connections that send nothing (each waits in accept, then in the server)."""
    return [socket.create_connection(host_port(url), timeout=30) for _ in range(count)]


def closed_by_peer(sock: socket.socket, timeout: float = 30) -> bool:
    """Whether the server closes `sock` (EOF or reset) within `timeout` (an upper bound)."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def still_open(sock: socket.socket) -> bool:
    """Whether `sock` is open with nothing to read, without waiting."""
    timeout = sock.gettimeout()
    sock.setblocking(False)  # a socket with a timeout would wait that long to peek
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.settimeout(timeout)
    return False


def concurrently(calls: list, workers: int | None = None) -> list:
    """Run the zero-argument callables all at once, each on its own client thread."""
    with ThreadPoolExecutor(workers or len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def run_script(name: str, *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """One of scripts/*.sh, with bash, output captured."""
    return subprocess.run(
        ["bash", str(SCRIPTS / name), *args], check=False, capture_output=True, text=True, cwd=cwd,
        env={**os.environ, **(env or {})}, timeout=timeout)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_until(condition: Callable[[], Any], timeout: float = 20, what: str = "") -> Any:
    """Check `condition` every 10 ms until it is true (its value is returned); fail after
    `timeout` seconds, an upper bound only."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting {timeout} s for {what or condition}")
        pause.wait(0.01)
    return value


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
