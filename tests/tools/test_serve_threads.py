"""`make serve` runs a cluster replica's thread and process model (contract section 1).

Small predictors make the model visible: which thread built the predictor, which threads
run predict, how many run at once, which processes serve.
"""

from __future__ import annotations

import threading

import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cortex_tools.runtime.config import worker_concurrency_limit
from cortex_tools.runtime.worker import WorkerPlan, uvicorn_config
from tests.tools.serve_helpers import (
    ACCESS_LINE,
    ROOT,
    Server,
    api,
    concurrently,
    http,
    pid_alive,
    post_json,
    write_project,
)


def test_init_runs_on_the_main_thread_and_predict_on_another(tmp_path):
    config = write_project(tmp_path, [api("echo", "echo.py", threads=1)],
                           files={"localmod.py": "VALUE = 1\n"})
    with Server(config) as server:
        answers = [post_json(server.url, {}).json() for _ in range(3)]
    for answer in answers:
        assert answer["init_thread_is_main"] is True
        assert answer["thread_is_main"] is False
        assert answer["thread"] != answer["init_thread"]
    assert len({answer["thread"] for answer in answers}) == 1  # one pool thread


@pytest.mark.parametrize(("threads", "flag"), [(1, None), (4, None), (2, "--threads")])
def test_exactly_threads_per_worker_threads_run_predict(tmp_path, threads, flag):
    """3 x threads requests at once. Each predict waits until `threads` run together (a pool
    of fewer would time out), then stays a moment, so a pool of more would let a further
    call in and show max_in_flight > threads."""
    configured = 1 if flag else threads
    config = write_project(tmp_path, [api("probe", "thread_probe.py", threads=configured,
                                          config={"parties": threads, "hold_s": 0.3})])
    args = [flag, str(threads)] if flag else []
    with Server(config, *args) as server:
        replies = concurrently([lambda: http("POST", server.url)] * (3 * threads))
    assert [r.status for r in replies] == [200] * (3 * threads), [r.text for r in replies]
    answers = [r.json() for r in replies]
    seen = {a["thread"] for a in answers}
    assert len(seen) == threads
    assert max(a["max_in_flight"] for a in answers) == threads
    assert answers[0]["init_thread"] not in seen


def test_two_workers_are_two_processes_each_with_its_own_predictor(tmp_path):
    """Each predict waits until both processes have had a request, so both must serve.
    Requests start one at a time (a worker may take a burst of connections all at once)
    until the first answer comes."""
    marks = tmp_path / "marks"
    marks.mkdir()
    config = write_project(tmp_path / "project", [api(
        "two", "rendezvous.py", threads=1, workers=2,
        config={"dir": str(marks), "processes": 2})])
    with Server(config) as server:
        replies: list = []
        answered = threading.Event()

        def call():
            replies.append(http("POST", server.url))
            answered.set()

        callers = []
        for _ in range(60):
            callers.append(threading.Thread(target=call))
            callers[-1].start()
            if answered.wait(0.05):
                break
        for caller in callers:
            caller.join(60)
        server_pid = server.proc.pid

    assert [r.status for r in replies] == [200] * len(replies), [r.text for r in replies]
    answers = [r.json() for r in replies]
    pids = {a["pid"] for a in answers}
    assert len(pids) == 2
    assert server_pid not in pids
    assert all(a["init_pid"] == a["pid"] for a in answers)  # built in the process it serves
    assert len({(a["pid"], a["predictor"]) for a in answers}) == 2
    inits = sorted(int(p.name.split("-")[1]) for p in marks.glob("init-*"))
    assert inits == sorted(pids)  # two predictors built, one per process
    assert not any(pid_alive(pid) for pid in pids)  # and both stopped with the server


def test_the_worker_environment(tmp_path):
    entry = api("env", "echo.py", threads=2, workers=2, max_concurrency=5,
                config={"session_strategy": "per_request"})
    entry["predictor"]["env"] = {"GREETING": "hello"}
    config = write_project(tmp_path, [entry],
                           files={"localmod.py": "VALUE = 'from the project dir'\n"})
    with Server(config) as server:
        answer = post_json(server.url, {}).json()
        port = server.url.rsplit(":", 1)[1]
        assert (f"serving API env: threads_per_worker=2 workers_per_replica=2 "
                f"strategy=per_request at http://127.0.0.1:{port}") in server.lines
    assert answer["env"] == {
        "GREETING": "hello",  # predictor.env, set before the predictor file is loaded
        "CORTEX_VERSION": "0.17.1",
        "CORTEX_PROVIDER": "local",
        "CORTEX_SERVING_PORT": port,
        "CORTEX_PROJECT_DIR": str(tmp_path),
        "CORTEX_WORKERS_PER_REPLICA": "2",
        "CORTEX_THREADS_PER_WORKER": "2",
        "CORTEX_MAX_WORKER_CONCURRENCY": "4",  # 1 + round(5 / 2), rounding half up as Go
        "CORTEX_SO_MAX_CONN": "105",
    }
    assert answer["cwd"] == str(tmp_path)
    assert answer["localmod"] == "from the project dir"
    assert str(tmp_path) != str(ROOT)


@pytest.mark.parametrize(("max_concurrency", "workers", "limit"), [
    (1024, 1, 1025), (1024, 3, 342), (5, 2, 4), (1, 2, 2), (3, 2, 3), (1, 1, 2)])
def test_worker_concurrency_limit_rounds_as_cortex(max_concurrency, workers, limit):
    assert worker_concurrency_limit(max_concurrency, workers) == limit


def test_more_requests_in_flight_than_the_limit_get_503(tmp_path):
    """max_replica_concurrency 2, 1 worker: Cortex's uvicorn limit_concurrency is 3, and it
    counts the connection it is answering, so 2 requests may be in flight and the 3rd gets
    503 (which is why Cortex adds 1); the runtime counts the 2 in flight itself."""
    marks = tmp_path / "marks"
    marks.mkdir()
    config = write_project(tmp_path / "project", [api(
        "limited", "blocking.py", threads=2, max_concurrency=2, config={"dir": str(marks)})])
    with Server(config) as server:
        held = [threading.Thread(target=lambda: results.append(http("POST", server.url)))
                for _ in range(2)]
        results: list = []
        for thread in held:
            thread.start()
        _wait_for(lambda: len(list(marks.glob("arrived-*"))) == 2)  # both are in predict

        rejected = http("POST", server.url)
        assert rejected.status == 503
        assert rejected.headers["content-type"] == "application/json"
        assert rejected.json()["error"].startswith("this worker is answering 2 requests "
                                                   "already, its limit")
        server.wait_for_line(ACCESS_LINE.format(method="POST", path="/", status=503)
                             + ": this worker is answering 2 requests already")

        (marks / "release").touch()
        for thread in held:
            thread.join(30)
        assert [r.status for r in results] == [200, 200]
        assert http("POST", server.url).status == 200  # and it stays up


def _wait_for(condition, timeout: float = 20) -> None:
    event = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError("timed out")


def test_workers_serve_on_uvloop_and_httptools_as_cortex_does():
    """Cortex 0.17's uvicorn 0.11.5 installs uvloop and httptools and picks them ("auto");
    the runtime leaves the same choice to uvicorn, with both pinned in requirements-dev."""
    plan = WorkerPlan(spec=None, index=0, threads=1, limit_concurrency=2, backlog=10,
                      access_log=False, parent_pid=0)
    config = uvicorn_config(plan, app=lambda scope, receive, send: None)
    config.load()
    # httptools' protocol, with the runtime's bounded heads (protocol.py)
    assert issubclass(config.http_protocol_class, HttpToolsProtocol)
    loop = config.get_loop_factory()()
    try:
        assert type(loop).__module__.split(".")[0] == "uvloop"
    finally:
        loop.close()
