"""Worker faults: a worker that dies or stops answering is replaced while the others
serve; the server gives up only when restarts keep failing.

(Cortex 0.17 instead leaves a dead uvicorn worker dead, and Kubernetes restarts the whole
container once no worker refreshes its liveness file: README, "What still differs".)
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from pathlib import Path

import pytest
import requests

from tests.tools.serve_helpers import (
    Server,
    api,
    http,
    pid_alive,
    wait_until,
    write_project,
)

RECORD_WRITES = str(Path(__file__).resolve().parent / "record_writes.py")


class Load:
    """Client threads that POST without pause, each on fresh connections, until stopped;
    each outcome is the answering pid, or the exception's name."""

    def __init__(self, url: str, threads: int = 2) -> None:
        self.url = url
        self.outcomes: list[int | str] = []
        self.statuses: set[int] = set()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                response = requests.post(self.url, timeout=30)
            except requests.RequestException as e:
                self.outcomes.append(type(e).__name__)
                continue
            self.statuses.add(response.status_code)
            self.outcomes.append(response.json()["pid"] if response.ok else response.status_code)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def answered_by(self, pid: int, after: int = 0) -> int:
        return sum(1 for outcome in self.outcomes[after:] if outcome == pid)


def served_by(url: str, pid: int, others: list[int]) -> dict:
    """One answer from worker `pid`: the other workers are stopped (SIGSTOP) while it is
    asked, so only `pid` can accept the connection."""
    for other in others:
        os.kill(other, signal.SIGSTOP)
    try:
        reply = http("POST", url, timeout=30)
    finally:
        for other in others:
            os.kill(other, signal.SIGCONT)
    assert reply.status == 200, reply.text
    answer = reply.json()
    assert answer["pid"] == pid
    return answer


def test_a_killed_worker_is_restarted_while_the_other_serves(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    config = write_project(tmp_path / "project", [api(
        "x", "restartable.py", workers=2, config={"dir": str(marks)})])
    # no heartbeat checks: served_by stops a worker for a moment on purpose
    with Server(config, "--heartbeat-timeout", "0") as server:
        killed, survivor = server.worker_pids()
        with Load(server.url) as load:
            wait_until(lambda: load.answered_by(killed) and load.answered_by(survivor),
                       what="answers from both workers")
            (marks / "hold").touch()  # the replacement will wait in __init__
            os.kill(killed, signal.SIGKILL)
            line = server.wait_for_line(r"^worker [01] \(pid \d+\) died")
            assert re.fullmatch(rf"worker [01] \(pid {killed}\) died: killed by SIGKILL; "
                                "restarting it", line)
            # the replacement is building its predictor: everything goes to the survivor
            replacement = wait_until(lambda: next(
                (int(p.name.split("-")[1]) for p in marks.glob("init-*")
                 if int(p.name.split("-")[1]) not in (killed, survivor)), None),
                what="the replacement's __init__")
            during = len(load.outcomes)
            wait_until(lambda: load.answered_by(survivor, after=during) >= 20,
                       what="20 answers from the survivor while the other rebuilds")
            assert server.worker_pids()[-1] == replacement
            (marks / "release").touch()
            server.wait_for_line(rf"^worker [01] \(pid {replacement}\) serving again", 60)
        assert load.statuses == {200}
        failed = [o for o in load.outcomes if isinstance(o, str)]
        assert len(failed) <= 2, failed  # at most the one in flight per client thread
        assert all(o in (killed, survivor, replacement) for o in load.outcomes if o not in failed)

        answer = served_by(server.url, replacement, others=[survivor])
        assert answer["init_thread_is_main"] is True  # rebuilt on its main thread...
        assert answer["thread_is_main"] is False  # ...and predicting on the pool
        assert (marks / f"init-{replacement}-main").exists()
    assert not pid_alive(killed)
    assert not any(pid_alive(pid) for pid in (survivor, replacement))


def test_each_line_of_the_server_is_one_write_when_python_is_unbuffered(tmp_path):
    """Workers write to the server's stdout too: a line of the server's written in two
    pieces (print() writes the newline apart when unbuffered, as PYTHONUNBUFFERED makes
    it) let a worker's access line in between, "...; restarting it2026-12-07 ... POST"."""
    writes_file = tmp_path / "writes.jsonl"
    config = write_project(tmp_path / "project", [api(
        "x", "restartable.py", workers=2, config={"dir": str(tmp_path)})])
    server = Server(config, "--heartbeat-timeout", "0", env={"PYTHONUNBUFFERED": "1"},
                    launcher=(RECORD_WRITES, str(writes_file)))
    with server:
        killed = server.worker_pids()[0]
        os.kill(killed, signal.SIGKILL)
        server.wait_for_line(r"serving again", 60)
        server.signal(signal.SIGINT)
        assert server.wait() == 0
    writes = [json.loads(line) for line in writes_file.read_text().splitlines()]
    said = [w for w in writes if re.match(r"(starting|limits:|serving|worker|stopped) ", w)]
    assert [w.split(" ", 1)[0] for w in said] == [
        "starting", "limits:", "serving", "worker", "worker", "stopped"], writes
    assert all(w.endswith("\n") and w.count("\n") == 1 for w in writes), writes


def test_a_stopped_worker_is_detected_and_replaced(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    config = write_project(tmp_path / "project", [api(
        "x", "restartable.py", workers=2, config={"dir": str(marks)})])
    with Server(config, "--heartbeat-timeout", "2") as server:
        stopped, other = server.worker_pids()
        os.kill(stopped, signal.SIGSTOP)  # every thread stops: its event loop, its beats
        line = server.wait_for_line(r"stopped answering", 60)
        assert re.fullmatch(rf"worker [01] \(pid {stopped}\) stopped answering \(no heartbeat "
                            r"for \d+\.\d s\); killing it", line)
        died = server.wait_for_line(rf"\(pid {stopped}\) died", 30)
        assert died.endswith("died: killed by SIGKILL, after it stopped answering (no heartbeat "
                             f"for {line.split('for ')[1].split(' s)')[0]} s); restarting it")
        ready = server.wait_for_line(r"serving again", 60)
        replacement = int(ready.split("pid ")[1].split(")")[0])
        assert replacement not in (stopped, other)
        wait_until(lambda: not pid_alive(stopped), what="the stopped worker's end")
        assert (marks / f"init-{replacement}-main").exists()  # rebuilt on its main thread
        assert http("POST", server.url).status == 200
        assert pid_alive(other)  # the other was never touched


def test_stopping_the_whole_server_does_not_replace_its_workers(tmp_path):
    """Ctrl-Z stops every process of the group, the parent too: on waking it must not take
    the workers' silence for a hang."""
    marks = tmp_path / "marks"
    marks.mkdir()
    config = write_project(tmp_path / "project", [api(
        "x", "restartable.py", workers=2, config={"dir": str(marks)})])
    with Server(config, "--heartbeat-timeout", "2") as server:
        pids = server.worker_pids()
        server.signal(signal.SIGSTOP, group=True)
        threading.Event().wait(3.5)  # the scenario itself: stopped past the timeout
        server.signal(signal.SIGCONT, group=True)
        server.wait_for_line(r"^the server itself was stopped or starved for \d+\.\d s: "
                             "timing the workers' heartbeats afresh$")
        assert http("POST", server.url).status == 200
        with pytest.raises(AssertionError):  # a kill would come within the timeout
            server.wait_for_line("stopped answering", timeout=4)
        assert server.worker_pids() == pids
        assert all(pid_alive(pid) for pid in pids)


def test_a_single_worker_that_dies_is_restarted_and_requests_wait_for_it(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    config = write_project(tmp_path / "project", [api(
        "x", "restartable.py", config={"dir": str(marks)})])
    with Server(config) as server:
        (first,) = server.worker_pids()
        os.kill(first, signal.SIGTERM)  # an exit, not a crash: still restarted
        server.wait_for_line(rf"\(pid {first}\) died: exited with code 0; restarting it")
        # the port stays open: this connection waits in the backlog for the replacement
        reply = http("POST", server.url, timeout=60)
        assert reply.status == 200
        assert reply.json()["pid"] != first
        assert reply.json()["init_thread_is_main"] is True


def test_restarts_that_keep_failing_stop_the_server(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    # one worker: a second one's __init__ would fail at start-up, which stops everything
    config = write_project(tmp_path / "project", [api(
        "x", "fails_on_restart.py", config={"dir": str(marks)})])
    server = Server(config).start()
    try:
        server.wait_ready()
        (pid,) = server.worker_pids()
        os.kill(pid, signal.SIGKILL)
        assert server.wait(120) == 1
    finally:
        server.stop()
    restarts = [line for line in server.lines if "failed to restart:" in line]
    assert len(restarts) == 2, server.output
    assert restarts[0].endswith("failed to restart: fails_on_restart.py: __init__: "
                                "RuntimeError: the model is gone: runtime exception (make "
                                "serve SERVE_FLAGS=--debug prints its traceback); trying "
                                "again in 1 s")
    assert restarts[1].endswith("trying again in 2 s")
    assert server.lines[-1] == (
        "error: worker 0 failed to restart 3 times in a row (last: fails_on_restart.py: "
        "__init__: RuntimeError: the model is gone: runtime exception (make serve "
        "SERVE_FLAGS=--debug prints its traceback)); stopping")
    assert "Traceback" not in server.output  # one line each attempt, the traceback with --debug
    assert not any(pid_alive(p) for p in server.worker_pids())
