"""One worker process: the predictor built on its main thread, then uvicorn on the socket.

Cortex 0.17 (serve/serve.py ``start()``) loads and builds the predictor when a worker
imports the app, on the worker's main thread, before it serves; ``predict`` then runs on
the pool. The parent hears from each worker when its predictor is built and, after
it said go, when its server accepts requests; or why it cannot start. While it serves,
the worker's event loop sends a heartbeat every second (uvicorn's ``callback_notify``,
which its main loop calls on the loop's thread, as gunicorn's uvicorn worker uses it):
if the loop stops turning, hung or the process stopped, the beats stop and the parent
replaces the worker. A beat from another thread would go on while the loop hangs.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import uvicorn

from cortex_tools.runtime import logs
from cortex_tools.runtime.app import build_app
from cortex_tools.runtime.config import ApiSpec
from cortex_tools.runtime.errors import StartupError
from cortex_tools.runtime.executor import PredictPool
from cortex_tools.runtime.limits import Limits
from cortex_tools.runtime.predictor_loader import build_predictor, load_predictor_class
from cortex_tools.runtime.protocol import BoundedHttpToolsProtocol

GRACEFUL_SHUTDOWN_S = 10  # in-flight requests get this long to finish on SIGTERM/SIGINT

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

# worker -> parent: (BUILT, pid), then (READY, pid), then (BEAT, pid) about every
# second; or (ERROR, line). parent -> worker: GO.
BUILT = "built"
READY = "ready"
BEAT = "beat"
ERROR = "error"
GO = "go"
HEARTBEAT_EVERY_S = 1  # uvicorn's main loop ticks every 0.1 s and notifies at most each 1 s


@dataclass(frozen=True)
class WorkerPlan:
    """What a worker needs; pickled to the spawned process."""

    spec: ApiSpec
    index: int
    threads: int
    limit_concurrency: int  # Cortex's uvicorn value: limit_concurrency - 1 in flight, then 503
    backlog: int
    access_log: bool
    parent_pid: int
    limits: Limits = Limits()
    debug: bool = False  # print the traceback of the user's exception at start

    @property
    def max_in_flight(self) -> int:
        """Requests answered at once: Cortex's limit_concurrency counts the connection
        asking too (in_flight.py), so one less."""
        return self.limit_concurrency - 1


class _NotifyingServer(uvicorn.Server):
    """A uvicorn server that says when it accepts requests."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            self._on_started()


def run_worker(plan: WorkerPlan, sock: socket.socket, conn: Connection) -> None:
    """The entry point of a spawned worker process (its main thread)."""
    # Ctrl-C reaches every process of the terminal's group; during start-up the parent
    # decides (it sends SIGTERM), while serving uvicorn's own handler takes over.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(plan.parent_pid)
    logs.configure()
    predictor = _build_or_report(plan, conn)
    # Serve only once every worker has built its predictor: the parent then opens the
    # port and says go (EOF instead: the parent is gone, there is nothing to serve for).
    conn.send((BUILT, os.getpid()))
    try:
        if conn.recv() != GO:
            sys.exit(1)
    except EOFError:
        sys.exit(1)
    _serve(plan, predictor, sock, conn)
    conn.close()


def _build_or_report(plan: WorkerPlan, conn: Connection) -> Any:
    """The predictor, or the reason it cannot be built sent to the parent, and exit 1."""
    try:
        return build_on_main_thread(plan.spec)
    except StartupError as e:
        if plan.debug:
            for line in e.details:  # the traceback of the user's __init__
                logs.say(line, sys.stderr)
        hint = " (make serve SERVE_FLAGS=--debug prints its traceback)" if (
            e.details and e.traceback_helps and not plan.debug) else ""
        conn.send((ERROR, str(e) + hint))
        sys.exit(1)
    except Exception as e:  # a bug of ours, or something no rule foresaw: still one line
        conn.send((ERROR, f"worker {plan.index} failed to start: {type(e).__name__}: {e}"))
        raise


def _serve(plan: WorkerPlan, predictor: Any, sock: socket.socket, conn: Connection) -> None:
    """uvicorn on the shared socket until SIGTERM/SIGINT, with Cortex's per-worker limits."""
    pid = os.getpid()

    async def beat() -> None:
        # A blocking send: the parent reads its pipes all the time; were it stopped alone,
        # the pipe's buffer (~200 KB, ~35 bytes a beat) holds over an hour of beats.
        with contextlib.suppress(OSError):
            conn.send((BEAT, pid))

    pool = PredictPool(plan.threads)
    app = build_app(predictor, pool, access_log=plan.access_log, limits=plan.limits,
                    max_in_flight=plan.max_in_flight)
    config = uvicorn_config(plan, app, heartbeat=beat)
    server = _NotifyingServer(config, on_started=lambda: conn.send((READY, pid)))
    # uvicorn re-raises the signal that stopped it once it has shut down; a no-op handler
    # lets the worker finish and exit 0 instead of dying of its own SIGTERM.
    signal.signal(signal.SIGTERM, _ignore)
    server.run(sockets=[sock])


def uvicorn_config(
    plan: WorkerPlan, app: Any, heartbeat: Callable[[], Awaitable[None]] | None = None
) -> uvicorn.Config:
    """uvicorn as Cortex's start_uvicorn.py sets it up. Its event loop is left to uvicorn
    ("auto"), as Cortex leaves it: uvloop, which Cortex's uvicorn 0.11.5 installs with
    itself and requirements-dev.txt pins here. Its HTTP protocol is the one "auto" picks,
    httptools', with bounded request heads (protocol.py). The 503 limit is the app's
    (in_flight.py): uvicorn's own ``limit_concurrency`` counts idle connections too."""
    return uvicorn.Config(
        app,
        http=BoundedHttpToolsProtocol.with_limits(plan.limits, plan.access_log),
        limit_concurrency=None,  # InFlightLimit answers 503 past CORTEX_MAX_WORKER_CONCURRENCY
        backlog=plan.backlog,  # CORTEX_SO_MAX_CONN
        lifespan="on",
        log_config=None,  # logs.configure() did it
        access_log=False,  # AccessLog writes the line, with the time taken
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        callback_notify=heartbeat,
        timeout_notify=0,  # notify on every check: once a second (HEARTBEAT_EVERY_S)
    )


def build_on_main_thread(spec: ApiSpec) -> Any:
    """Import the predictor file and build ``PythonPredictor`` here, as Cortex does."""
    assert threading.current_thread() is threading.main_thread()
    os.chdir(spec.project_dir)
    project_dir = str(spec.project_dir)
    if project_dir not in sys.path:
        sys.path.insert(0, project_dir)
    if spec.python_path is not None and str(spec.python_path) not in sys.path:
        sys.path.append(str(spec.python_path))  # run.sh: PYTHONPATH=$PYTHONPATH:$PYTHON_PATH

    logs.log.info("loading the predictor from %s", spec.predictor_path)
    predictor_class = load_predictor_class(spec.project_dir, spec.predictor_path)
    return build_predictor(predictor_class, spec.predictor_config, spec.predictor_path)


def _ignore(signum: int, frame: object) -> None:
    pass


def _exit_with_parent(parent_pid: int) -> None:
    """SIGTERM this worker when the parent dies, even by SIGKILL: no orphan keeps serving.

    Linux's prctl(PR_SET_PDEATHSIG); elsewhere the parent's own shutdown has to do.
    """
    if sys.platform != "linux":
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
