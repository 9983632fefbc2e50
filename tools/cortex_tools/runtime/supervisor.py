"""The parent's watch over its workers: start-up all or nothing, then keep them serving.

Start-up: each worker reports on its own pipe, (BUILT, pid) once ``PythonPredictor`` is
built, then (READY, pid) once its server runs, or (ERROR, line). When every worker has
built, the parent starts listening and sends each one GO: so no connection is accepted
before every predictor exists, and polling the port is a readiness check. Any failure
before the ready line stops everything with one ``error:`` line.

Serving: a worker that dies is reported with its exit cause and started again, its
predictor rebuilt on its main thread before it serves (the port stays open, so its
share of new connections goes to the others, or waits in the backlog if it was the
only one). A worker whose heartbeats stop for ``heartbeat_timeout`` is killed and so
replaced. The server gives up (exit 1) only when a worker's restarts keep failing
(``restarts.RestartPolicy``). Cortex 0.17 does none of this itself: a dead uvicorn worker
stays dead, and Kubernetes restarts the whole container once its liveness file is stale.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from cortex_tools.config_check.model_error_key import located
from cortex_tools.runtime.errors import StartupError, WorkerFailure
from cortex_tools.runtime.logs import say
from cortex_tools.runtime.restarts import RestartPolicy, exit_cause
from cortex_tools.runtime.worker import BUILT, ERROR, GO, READY, WorkerPlan, run_worker

STOP_TIMEOUT_S = 15  # after SIGTERM, how long a worker gets before SIGKILL
DEFAULT_HEARTBEAT_TIMEOUT_S = 10.0  # beats come every second; 10 missed: it is stuck
TICK_S = 0.25  # while heartbeats are checked, the parent looks at least this often
AWAY_S = 1.0  # a look that comes this much late means the parent was stopped itself


@dataclass
class Worker:
    """One process of one worker slot."""

    process: BaseProcess
    conn: Connection | None  # None once its pipe is closed
    last_heard: float  # monotonic time of its last message
    built: bool = False
    serving: bool = False
    error: str | None = None  # the line it sent before it gave up, if any
    kill_reason: str | None = None  # why the parent killed it, if it did

    @property
    def pid(self) -> int | None:
        return self.process.pid


@dataclass
class Slot:
    """Worker ``plan.index``, across its restarts."""

    plan: WorkerPlan
    worker: Worker | None = None
    failed_restarts: int = 0  # in a row
    restart_at: float | None = None  # when its next process starts, if it has none

    @property
    def index(self) -> int:
        return self.plan.index


class Supervisor:
    """Starts the workers, says when all serve, keeps them serving, stops them on a signal."""

    def __init__(
        self,
        plans: list[WorkerPlan],
        sock: socket.socket,
        ready_line: str,
        heartbeat_timeout: float | None = DEFAULT_HEARTBEAT_TIMEOUT_S,
        policy: RestartPolicy | None = None,
    ) -> None:
        self.slots = [Slot(plan) for plan in plans]
        self.sock = sock
        self.ready_line = ready_line
        self.heartbeat_timeout = heartbeat_timeout or None  # 0: no heartbeat checks
        self.policy = policy or RestartPolicy()
        self.listening = False
        self.announced = False  # the ready line is out: from now on, workers are restarted
        self.signals: list[int] = []
        self._ctx = multiprocessing.get_context("spawn")  # a fresh interpreter, as uvicorn
        # Silence is counted from when the parent last started to watch without a break:
        # were it stopped itself (Ctrl-Z stops the whole process group), its clock would
        # run on while no worker could beat, and it would kill them all on waking.
        self._watching_since = time.monotonic()
        self._last_look = self._watching_since

    def run(self) -> int:
        """0 on SIGINT/SIGTERM; 1 when start-up fails or restarts keep failing."""
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        try:
            for slot in self.slots:
                self._start(slot)
            status = self._supervise(wake_r)
        except StartupError as e:
            status = report_failure(e)
        finally:
            self.sock.close()
            self._stop_workers(wake_r)
            signal.set_wakeup_fd(-1)
            os.close(wake_r)
            os.close(wake_w)
        return status

    def _on_signal(self, signum: int, frame: object) -> None:
        self.signals.append(signum)

    def _start(self, slot: Slot) -> None:
        ours, theirs = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=run_worker,
            args=(slot.plan, self.sock, theirs),
            name=f"cortex-local-worker-{slot.index}",
        )
        process.start()
        theirs.close()  # the worker holds the only other end: EOF when it is gone
        slot.worker = Worker(process, ours, last_heard=time.monotonic())
        slot.restart_at = None

    def _supervise(self, wake_r: int) -> int:
        while True:
            waitables: list[Any] = [wake_r]
            for slot in self.slots:
                if slot.worker is not None:
                    waitables.append(slot.worker.process.sentinel)
                    if slot.worker.conn is not None:
                        waitables.append(slot.worker.conn)
            timeout = self._seconds_to_next_deadline()
            asleep = time.monotonic()
            ready = wait(waitables, timeout=timeout)
            awake = time.monotonic()
            if wake_r in ready:
                _drain(wake_r)
            if self.signals:
                return 0
            for slot in self.slots:
                worker = slot.worker
                if worker is None:
                    continue
                if worker.conn is not None and worker.conn in ready:
                    self._read_messages(slot)
                if worker.process.sentinel in ready:
                    self._on_exit(slot)
            self._note_own_gaps(asleep, timeout, awake)
            self._check_heartbeats()
            self._start_due_restarts()

    # -- messages ---------------------------------------------------------------------------

    def _read_messages(self, slot: Slot) -> None:
        worker = slot.worker
        assert worker is not None
        while worker.conn is not None:
            try:
                if not worker.conn.poll():
                    return
                message = worker.conn.recv()
            except (EOFError, OSError):  # EOF: its process sentinel tells the rest
                worker.conn.close()
                worker.conn = None
                return
            worker.last_heard = time.monotonic()  # any message is a sign of life
            self._on_message(slot, worker, message)

    def _on_message(self, slot: Slot, worker: Worker, message: tuple[str, object]) -> None:
        kind = message[0]
        if kind == ERROR:
            spec = slot.plan.spec  # a ModelError names the config's line to fix, as make check
            worker.error = located(str(message[1]), spec.config_path, spec.name)
            if not self.announced:
                raise StartupError(worker.error)
        elif kind == BUILT:
            worker.built = True
            if self.listening:  # a restart: the port is open already
                self._go(worker)
            elif all(s.worker is not None and s.worker.built for s in self.slots):
                self._open_port()
        elif kind == READY:
            worker.serving = True
            slot.failed_restarts = 0
            if self.announced:
                say(f"worker {slot.index} (pid {worker.pid}) serving again")
            elif all(s.worker is not None and s.worker.serving for s in self.slots):
                say(self.ready_line)
                self.announced = True

    def _open_port(self) -> None:
        try:
            self.sock.listen(self.slots[0].plan.backlog)
        except OSError as e:  # bound, but someone else listened there first
            raise StartupError(f"cannot listen on {self.sock.getsockname()}: {e}") from e
        self.listening = True
        for slot in self.slots:
            if slot.worker is not None:
                self._go(slot.worker)

    def _go(self, worker: Worker) -> None:
        if worker.conn is not None:
            with contextlib.suppress(OSError):  # it is gone: its sentinel says so next
                worker.conn.send(GO)

    # -- deaths, hangs and restarts ---------------------------------------------------------

    def _on_exit(self, slot: Slot) -> None:
        worker = slot.worker
        assert worker is not None
        self._read_messages(slot)  # the line it sent before it went, if any
        worker.process.join(5)  # its pipe closes a moment before it can be reaped
        if worker.conn is not None:
            worker.conn.close()
        slot.worker = None
        cause = exit_cause(worker.process.exitcode)
        if worker.kill_reason:
            cause = f"{cause}, after it {worker.kill_reason}"
        if not self.announced:
            raise StartupError(
                worker.error or f"worker {slot.index} exited before the server was ready "
                f"({cause}); stopping"
            )
        if worker.serving:
            say(f"worker {slot.index} (pid {worker.pid}) died: {cause}; restarting it")
            slot.restart_at = time.monotonic()
            return
        slot.failed_restarts += 1
        reason = worker.error or cause
        if self.policy.gives_up(slot.failed_restarts):
            raise WorkerFailure(
                f"worker {slot.index} failed to restart {slot.failed_restarts} times in a "
                f"row (last: {reason}); stopping"
            )
        pause = self.policy.pause_before(slot.failed_restarts)
        say(f"worker {slot.index} (pid {worker.pid}) failed to restart: {reason}; "
            f"trying again in {pause:g} s")
        slot.restart_at = time.monotonic() + pause

    def _note_own_gaps(self, asleep: float, timeout: float | None, awake: float) -> None:
        """Start counting silence afresh after a gap in the parent's own watch: a stop
        between two looks shows as work that took too long, or as a wait that overran its
        timeout (a wait without one can only be long when nothing needs watching)."""
        now = time.monotonic()
        overran = awake - asleep - timeout if timeout is not None else 0.0
        away = max(asleep - self._last_look, now - awake, overran)
        self._last_look = now
        if away > AWAY_S:
            self._watching_since = now
            if any(s.worker is not None and s.worker.serving for s in self.slots):
                say(f"the server itself was stopped or starved for {away:.1f} s: timing the "
                    "workers' heartbeats afresh")

    def _check_heartbeats(self) -> None:
        if self.heartbeat_timeout is None:
            return
        now = time.monotonic()
        for slot in self.slots:
            worker = slot.worker
            if worker is None or not worker.serving or worker.kill_reason is not None:
                continue
            silent_s = now - max(worker.last_heard, self._watching_since)
            if silent_s > self.heartbeat_timeout:
                worker.kill_reason = f"stopped answering (no heartbeat for {silent_s:.1f} s)"
                say(f"worker {slot.index} (pid {worker.pid}) {worker.kill_reason}; "
                    "killing it")
                worker.process.kill()  # SIGKILL: it works on a stopped process too

    def _start_due_restarts(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.worker is None and slot.restart_at is not None and slot.restart_at <= now:
                self._start(slot)

    def _seconds_to_next_deadline(self) -> float | None:
        now = time.monotonic()
        deadlines = [slot.restart_at for slot in self.slots if slot.restart_at is not None]
        if self.heartbeat_timeout is not None and any(
            s.worker is not None and s.worker.serving for s in self.slots
        ):
            deadlines.append(now + TICK_S)  # heartbeat deadlines come later than a tick
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - now)

    # -- stopping ---------------------------------------------------------------------------

    def _stop_workers(self, wake_r: int) -> None:
        """SIGTERM (graceful in uvicorn), then SIGKILL after STOP_TIMEOUT_S or a 2nd signal."""
        signals_before = len(self.signals)
        processes = [slot.worker.process for slot in self.slots if slot.worker is not None]
        for process in processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while alive := [p for p in processes if p.is_alive()]:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or len(self.signals) > signals_before:
                for process in alive:
                    process.kill()
                break
            wait([*(p.sentinel for p in alive), wake_r], timeout=remaining)
            _drain(wake_r)
        for process in processes:
            process.join()
        for slot in self.slots:
            if slot.worker is not None and slot.worker.conn is not None:
                slot.worker.conn.close()
        if signals_before:
            say(f"stopped API {self.slots[0].plan.spec.name}")


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def report_failure(error: StartupError) -> int:
    """Print ``error`` (its details first) as the ``error: ...`` line; the exit status 1."""
    for line in error.details:
        say(line, sys.stderr)
    say(f"error: {error}", sys.stderr)
    return 1
