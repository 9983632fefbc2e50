"""The parent process: reads the API, binds the port, hands the workers to the Supervisor.

Like uvicorn's own ``--workers`` mode (and so Cortex's start_uvicorn.py), the parent
binds the socket and spawns ``workers_per_replica`` processes that all accept on it. We
supervise them ourselves instead of through uvicorn (supervisor.py) so that start-up is
all or nothing (the ready line comes only once every worker has built its predictor and
serves; if any worker fails to start, every worker is stopped and we exit non-zero), and
so that a worker that dies or hangs later is replaced while the others serve.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from dataclasses import dataclass, field

from cortex_tools import CORTEX_VERSION
from cortex_tools.runtime.config import (
    MAX_WORKERS_PER_REPLICA,
    ApiSpec,
    load_api,
    worker_concurrency_limit,
)
from cortex_tools.runtime.errors import PredictorError, StartupError
from cortex_tools.runtime.limits import Limits, format_size
from cortex_tools.runtime.logs import say
from cortex_tools.runtime.supervisor import DEFAULT_HEARTBEAT_TIMEOUT_S, Supervisor, report_failure
from cortex_tools.runtime.worker import WorkerPlan

DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServeOptions:
    config: str
    api: str | None = None
    port: int | None = None
    host: str = DEFAULT_HOST
    threads: int | None = None
    workers: int | None = None
    access_log: bool = True
    limits: Limits = field(default_factory=Limits)
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT_S  # 0: not checked
    debug: bool = False  # print the traceback of an exception in the user's code at start


def serve(options: ServeOptions) -> int:
    """Serve until SIGINT/SIGTERM (exit status 0) or a failure (1)."""
    try:
        spec = load_api(options.config, options.api)
        for warning in spec.warnings:
            say(warning, sys.stderr)
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
        return report_failure(e)

    port = sock.getsockname()[1]  # the real one when asked for port 0
    limit = worker_concurrency_limit(spec.max_replica_concurrency, workers)
    os.chdir(spec.project_dir)
    os.environ.update(runtime_env(spec, threads=threads, workers=workers, port=port))
    if spec.gpu:
        say(
            f"note: compute.gpu is {spec.gpu}; locally nothing is reserved, "
            "TensorFlow uses whatever devices this machine has")
    url = f"http://{_url_host(options.host)}:{port}"
    say(
        f"starting API {spec.name} of {spec.config_path} for {url}: {workers} worker "
        f"process(es), {threads} predict thread(s) each, at most {limit - 1} requests in "
        "flight per worker (more get 503)")
    limits = options.limits
    silent = (f", or is silent for {options.heartbeat_timeout:g} s,"
              if options.heartbeat_timeout else "")
    say(
        f"limits: request body {format_size(limits.max_body_size)} (413 past it); head within "
        f"{limits.header_timeout:g} s, body within {limits.body_timeout:g} s (408 past them); "
        f"a worker that dies{silent} is restarted")
    plans = [
        WorkerPlan(spec, i, threads, limit, backlog, options.access_log, os.getpid(), limits,
                   options.debug)
        for i in range(workers)
    ]
    ready_line = (
        f"serving API {spec.name}: threads_per_worker={threads} workers_per_replica={workers} "
        f"strategy={spec.strategy} at {url}"
    )
    return Supervisor(plans, sock, ready_line, options.heartbeat_timeout).run()


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


def _override(value: int, override: int | None, flag: str, low: int, high: int | None) -> int:
    if override is None:
        return value
    if override < low or (high is not None and override > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise StartupError(f"--{flag} must be {bound}, got {override}")
    return override


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
