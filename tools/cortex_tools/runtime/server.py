"""The parent process: binds the port, starts the workers, says when all are ready.

Like uvicorn's own ``--workers`` mode (and so Cortex's start_uvicorn.py), the parent
binds the socket and spawns ``workers_per_replica`` processes that all accept on it. We
supervise them ourselves instead of through uvicorn so that start-up is all or nothing:
the ready line comes only once every worker has built its predictor and serves, and if
any worker fails to start, or dies later, every worker is stopped and we exit non-zero.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from cortex_tools import CORTEX_VERSION
from cortex_tools.runtime.config import (
    MAX_WORKERS_PER_REPLICA,
    ApiSpec,
    load_api,
    worker_concurrency_limit,
)
from cortex_tools.runtime.errors import PredictorError, StartupError
from cortex_tools.runtime.worker import BUILT, ERROR, GO, READY, WorkerPlan, run_worker

DEFAULT_HOST = "127.0.0.1"
STOP_TIMEOUT_S = 15  # after SIGTERM, how long a worker gets before SIGKILL


@dataclass(frozen=True)
class ServeOptions:
    config: str
    api: str | None = None
    port: int | None = None
    host: str = DEFAULT_HOST
    threads: int | None = None
    workers: int | None = None
    access_log: bool = True


def serve(options: ServeOptions) -> int:
    """Serve until SIGINT/SIGTERM (exit status 0) or a failure (1)."""
    try:
        spec = load_api(options.config, options.api)
        for warning in spec.warnings:
            print(warning, file=sys.stderr, flush=True)
        threads = _override(spec.threads_per_worker, options.threads, "threads", 1, None)
        workers = _override(
            spec.workers_per_replica, options.workers, "workers", 1, MAX_WORKERS_PER_REPLICA
        )
        predictor_file = spec.project_dir / spec.predictor_path
        if not predictor_file.is_file():
            raise PredictorError(f"predictor file not found: {predictor_file}")
        port = spec.local_port if options.port is None else options.port
        backlog = spec.max_replica_concurrency + 100  # CORTEX_SO_MAX_CONN
        sock = bind_socket(options.host, port)
    except StartupError as e:
        return _fail(e)

    port = sock.getsockname()[1]  # the real one when asked for port 0
    limit = worker_concurrency_limit(spec.max_replica_concurrency, workers)
    os.chdir(spec.project_dir)
    os.environ.update(runtime_env(spec, threads=threads, workers=workers, port=port))
    if spec.gpu:
        print(
            f"note: compute.gpu is {spec.gpu}; locally nothing is reserved, "
            "TensorFlow uses whatever devices this machine has",
            flush=True,
        )
    url = f"http://{_url_host(options.host)}:{port}"
    print(
        f"starting API {spec.name} of {spec.config_path} for {url}: {workers} worker "
        f"process(es), {threads} predict thread(s) each, at most {limit - 1} requests in "
        "flight per worker (more get 503)",
        flush=True,
    )
    plans = [
        WorkerPlan(spec, i, threads, limit, backlog, options.access_log, os.getpid())
        for i in range(workers)
    ]
    ready_line = (
        f"serving API {spec.name}: threads_per_worker={threads} workers_per_replica={workers} "
        f"strategy={spec.strategy} at {url}"
    )
    return Supervisor(plans, sock, ready_line).run()


def bind_socket(host: str, port: int) -> socket.socket:
    """The socket every worker will accept on: bound here, so that a taken port fails
    before any predictor is built; it listens once every predictor is built."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto
    # says TCP, and accepted sockets inherit it. Without it a response written in two
    # parts (headers, body) waits for the client's delayed ACK: ~40 ms a request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise StartupError(
                f"port {port} on {host} is already in use; stop what listens there "
                "or choose another port (PORT=... or --port)"
            ) from e
        raise StartupError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    sock.set_inheritable(True)
    return sock


def runtime_env(spec: ApiSpec, threads: int, workers: int, port: int) -> dict[str, str]:
    """The worker environment: predictor.env, then the CORTEX_* variables (section 1)."""
    env = dict(spec.env)
    env.update(
        CORTEX_VERSION=CORTEX_VERSION,
        CORTEX_PROVIDER="local",
        CORTEX_SERVING_PORT=str(port),
        CORTEX_PROJECT_DIR=str(spec.project_dir),
        CORTEX_WORKERS_PER_REPLICA=str(workers),
        CORTEX_THREADS_PER_WORKER=str(threads),
        CORTEX_MAX_WORKER_CONCURRENCY=str(
            worker_concurrency_limit(spec.max_replica_concurrency, workers)
        ),
        CORTEX_SO_MAX_CONN=str(spec.max_replica_concurrency + 100),
        PYTHONUNBUFFERED="TRUE",  # run.sh: predictor print() statements are flushed
    )
    if spec.python_path is not None:
        env["PYTHON_PATH"] = str(spec.python_path)
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")  # cli/local/docker_spec.go
    return env


class Supervisor:
    """Starts the workers, opens the port once all have built their predictor, says when
    all serve, then watches them and the signals.

    Each worker reports on its own pipe: ("built", pid) once ``PythonPredictor`` is built,
    then ("ready", pid) once its server runs; or ("error", line). When every worker has
    built, the parent starts listening and sends each one "go": so no connection is
    accepted before every predictor exists, and polling the port is a readiness check.
    """

    def __init__(self, plans: list[WorkerPlan], sock: socket.socket, ready_line: str) -> None:
        self.plans = plans
        self.sock = sock
        self.ready_line = ready_line
        self.processes: list[BaseProcess] = []
        self.conns: dict[Connection, int] = {}  # a worker's pipe -> its index
        self.signals: list[int] = []

    def run(self) -> int:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        try:
            self._start_workers()
            status = self._supervise(wake_r)
        finally:
            self.sock.close()
            self._stop_workers(wake_r)
            signal.set_wakeup_fd(-1)
            os.close(wake_r)
            os.close(wake_w)
        return status

    def _on_signal(self, signum: int, frame: object) -> None:
        self.signals.append(signum)

    def _start_workers(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter, as uvicorn does
        for plan in self.plans:
            ours, theirs = ctx.Pipe(duplex=True)
            process = ctx.Process(
                target=run_worker,
                args=(plan, self.sock, theirs),
                name=f"cortex-local-worker-{plan.index}",
            )
            process.start()
            theirs.close()  # the worker holds the only other end: EOF when it is gone
            self.processes.append(process)
            self.conns[ours] = plan.index

    def _supervise(self, wake_r: int) -> int:
        """0 on SIGINT/SIGTERM, 1 when a worker fails to start or dies."""
        to_build = set(range(len(self.plans)))
        to_start = set(range(len(self.plans)))
        sentinels = {p.sentinel: i for i, p in enumerate(self.processes)}
        while True:
            ready = wait([*self.conns, *sentinels, wake_r])
            if wake_r in ready:
                _drain(wake_r)
            if self.signals:
                return 0
            for conn in [c for c in ready if c in self.conns]:
                message = _receive(conn)
                if message is None:  # EOF: its process sentinel tells the rest
                    del self.conns[conn]
                elif message[0] == ERROR:
                    return _fail(StartupError(str(message[1])))
                elif message[0] == BUILT:
                    to_build.discard(self.conns[conn])
                    if not to_build:
                        try:
                            self._open_port()
                        except StartupError as e:
                            return _fail(e)
                elif message[0] == READY:
                    to_start.discard(self.conns[conn])
                    if not to_start:
                        print(self.ready_line, flush=True)
            for sentinel in [s for s in ready if s in sentinels]:
                return self._worker_died(sentinels.pop(sentinel), before_ready=bool(to_start))

    def _open_port(self) -> None:
        try:
            self.sock.listen(self.plans[0].backlog)
        except OSError as e:  # bound, but someone else listened there first
            raise StartupError(f"cannot listen on {self.sock.getsockname()}: {e}") from e
        for conn in self.conns:
            conn.send(GO)

    def _worker_died(self, index: int, before_ready: bool) -> int:
        conn = next((c for c, i in self.conns.items() if i == index), None)
        message = _receive(conn) if conn is not None else None
        if message is not None and message[0] == ERROR:  # it said why before it went
            return _fail(StartupError(str(message[1])))
        process = self.processes[index]
        process.join(5)  # its pipe closes a moment before it can be reaped
        when = "before it was ready" if before_ready else "unexpectedly"
        return _fail(
            StartupError(f"worker {index} exited {when} (exit code {process.exitcode}); stopping")
        )

    def _stop_workers(self, wake_r: int) -> None:
        """SIGTERM (graceful in uvicorn), then SIGKILL after STOP_TIMEOUT_S or a 2nd signal."""
        signals_before = len(self.signals)
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while alive := [p for p in self.processes if p.is_alive()]:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or len(self.signals) > signals_before:
                for process in alive:
                    process.kill()
                break
            wait([*(p.sentinel for p in alive), wake_r], timeout=remaining)
            _drain(wake_r)
        for process in self.processes:
            process.join()
        if signals_before:
            print(f"stopped API {self.plans[0].spec.name}", flush=True)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _receive(conn: Connection) -> tuple[str, object] | None:
    try:
        return conn.recv() if conn.poll() else None
    except (EOFError, OSError):
        return None


def _override(value: int, override: int | None, flag: str, low: int, high: int | None) -> int:
    if override is None:
        return value
    if override < low or (high is not None and override > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise StartupError(f"--{flag} must be {bound}, got {override}")
    return override


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _fail(error: StartupError) -> int:
    for line in error.details:
        print(line, file=sys.stderr, flush=True)
    print(f"error: {error}", file=sys.stderr, flush=True)
    return 1
