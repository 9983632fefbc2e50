"""`make serve` refuses to start with one clear line and a non-zero exit, within seconds;
it stops cleanly on SIGINT and SIGTERM. Never a half-alive server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.tools import house
from tests.tools.serve_helpers import (
    CHILD_ENV,
    ROOT,
    SERVE,
    Server,
    api,
    http,
    pid_alive,
    port_is_free,
    write_project,
)

FAST_S = 5  # a config problem: no worker is started
WORKER_S = 20  # a predictor problem: a worker process starts and gives up


def run_serve(*args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, *SERVE, *args], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, **CHILD_ENV}, timeout=timeout, check=False)
    return result, time.monotonic() - start


def assert_refused(result, elapsed: float, limit: float, line: str) -> None:
    """Exit 1, `line` as the last line on stderr, no ready line."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == line, result.stderr
    assert "serving API" not in result.stdout
    assert elapsed < limit


# --- the config ----------------------------------------------------------------------------


def test_config_missing(tmp_path):
    result, elapsed = run_serve("--config", str(tmp_path / "nope.yaml"))
    assert_refused(result, elapsed, FAST_S, f"error: config file not found: {tmp_path}/nope.yaml")


def test_config_with_one_problem(tmp_path):
    config = write_project(tmp_path, [api("x", "echo.py", threads=0)])
    result, elapsed = run_serve("--config", str(config))
    assert_refused(result, elapsed, FAST_S,
                   f"error: {config}:6: api x: autoscaling.threads_per_worker: 0 is too small "
                   "(an integer >= 1; default 1)")


def test_config_with_several_problems_lists_each(tmp_path):
    config = write_project(tmp_path, [api("x", "echo.py", threads=0, workers=21)])
    result, elapsed = run_serve("--config", str(config))
    assert_refused(result, elapsed, FAST_S,
                   f"error: {config} is not a valid Cortex 0.17 config (2 problems above)")
    problems = result.stderr.strip().splitlines()[:-1]
    assert [p.split(": ")[2] for p in problems] == [
        "autoscaling.threads_per_worker", "autoscaling.workers_per_replica"]


def test_config_that_is_not_yaml(tmp_path):
    config = tmp_path / "cortex.yaml"
    config.write_text("- name: x\n  predictor: [unclosed\n")
    result, elapsed = run_serve("--config", str(config))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {config}:"), result.stderr
    assert elapsed < FAST_S


def test_api_not_in_config(tmp_path):
    config = write_project(tmp_path, [api("one", "echo.py"), api("two", "echo.py")])
    result, elapsed = run_serve("--config", str(config), "--api", "three")
    assert_refused(result, elapsed, FAST_S,
                   f"error: api 'three' is not in {config} (it has: one, two)")


def test_predictor_file_missing(tmp_path):
    config = write_project(tmp_path, [api("x", "missing.py")])
    result, elapsed = run_serve("--config", str(config))
    assert_refused(result, elapsed, FAST_S,
                   f'error: {config}:4: api x: predictor.path: "missing.py" does not exist '
                   "(a file in the project, relative to the config file)")


def test_workers_flag_out_of_bounds(tmp_path):
    config = write_project(tmp_path, [api("x", "echo.py")])
    result, elapsed = run_serve("--config", str(config), "--workers", "21")
    assert_refused(result, elapsed, FAST_S, "error: --workers must be 1..20, got 21")


def test_port_taken(tmp_path):
    config = write_project(tmp_path, [api("x", "echo.py")])
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result, elapsed = run_serve("--config", str(config), "--port", str(port))
    assert_refused(result, elapsed, FAST_S,
                   f"error: port {port} on 127.0.0.1 is already in use; stop what listens "
                   "there or choose another port (PORT=... or --port)")


# --- the predictor: section 3's rules, with Cortex's messages ----------------------------


@pytest.mark.parametrize(("predictor", "line"), [
    ("broken_no_class.py", "error: error in broken_no_class.py: PythonPredictor class is "
                           "not defined"),
    ("broken_init_args.py", 'error: error in broken_init_args.py: invalid signature for '
                            'function "__init__(self, config, debug)": "debug" is not a '
                            "supported argument"),
    ("broken_predict_args.py", 'error: error in broken_predict_args.py: invalid signature '
                               'for function "predict(self, body)": "body" is not a '
                               "supported argument"),
    ("broken_import.py", "error: error in broken_import.py: ModuleNotFoundError: No module "
                         "named 'not_installed_anywhere' (make serve SERVE_FLAGS=--debug "
                         "prints its traceback)"),
    ("broken_init_raises.py", "error: broken_init_raises.py: __init__: FileNotFoundError: "
                              "no model at nowhere: runtime exception (make serve "
                              "SERVE_FLAGS=--debug prints its traceback)"),
    # tf_session's ModelError says what to fix: no traceback, no hint
    ("broken_model_error.py", "error: broken_model_error.py: __init__: ModelError: model "
                              "nowhere: found nothing there: runtime exception"),
])
def test_predictor_refused(tmp_path, predictor, line):
    config = write_project(tmp_path, [api("x", predictor, config={"where": "nowhere"})])
    if predictor not in ("broken_init_raises.py", "broken_model_error.py"):
        config = write_project(tmp_path, [api("x", predictor)])
    result, elapsed = run_serve("--config", str(config), "--port", "0")
    assert_refused(result, elapsed, WORKER_S, line)


@pytest.mark.parametrize(("rooms", "model", "key", "message"), [
    ("room:0", "model", "inputs.rooms", "predictor.config inputs rooms: tensor 'room:0' is "
     "not in the graph of model; closest names: rooms:0, mul:0, area:0"),
    ("rooms:0", "model/house", "model", "checkpoint model/house: no house.meta there; did "
     "you mean model/house.ckpt?"),
])
def test_a_model_error_is_one_line_at_the_configs_key(tmp_path, rooms, model, key, message):
    """The house checkpoint, a wrong tensor name or prefix: one `error:` line naming the
    config's line to fix, as make check does; no traceback."""
    config = house.project(tmp_path, rooms=rooms)
    config.write_text(config.read_text().replace("model: model", f"model: {model}"))
    result = subprocess.run([sys.executable, *SERVE, "--config", "cortex.yaml", "--port", "0"],
                            capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, **CHILD_ENV}, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"error: cortex.yaml:{house.LINES[key]}: api house: predictor.config.{key}: "
        f"predictor.py: __init__: ModelError: {message}: runtime exception"], result.stderr
    assert "serving API" not in result.stdout


def test_init_raising_shows_the_users_traceback_with_debug_only(tmp_path):
    config = write_project(tmp_path, [api("x", "broken_init_raises.py",
                                          config={"where": "nowhere"})])
    result, _ = run_serve("--config", str(config), "--port", "0")
    assert "Traceback" not in result.stderr and "line 6" not in result.stderr
    result, _ = run_serve("--config", str(config), "--port", "0", "--debug")
    assert result.stderr.strip().splitlines()[-1] == (
        "error: broken_init_raises.py: __init__: FileNotFoundError: no model at nowhere: "
        "runtime exception")
    assert "Traceback (most recent call last)" in result.stderr
    assert 'broken_init_raises.py", line 6, in __init__' in result.stderr
    assert "cortex_local" not in result.stderr  # the user's frames only


def test_one_worker_failing_stops_them_all(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    config = write_project(tmp_path / "project", [api(
        "x", "second_worker_fails.py", workers=2, config={"dir": str(marks)})])
    result, elapsed = run_serve("--config", str(config), "--port", "0")
    assert_refused(result, elapsed, WORKER_S,
                   "error: second_worker_fails.py: __init__: RuntimeError: another worker "
                   "holds the lock: runtime exception (make serve SERVE_FLAGS=--debug prints "
                   "its traceback)")
    pids = [int(p.name.split("-")[1]) for p in marks.glob("pid-*")]
    assert len(pids) == 2  # both workers built (one failed)...
    assert not any(pid_alive(pid) for pid in pids)  # ...and neither outlived the server


# --- stopping ------------------------------------------------------------------------------


@pytest.mark.parametrize(("sig", "group"), [
    (signal.SIGTERM, False),  # kill PID, or a process manager
    (signal.SIGINT, True),  # Ctrl-C in a terminal: every process of the group gets it
])
def test_a_signal_stops_every_worker_cleanly(tmp_path, sig, group):
    config = write_project(tmp_path, [api("x", "echo.py", workers=2)],
                           files={"localmod.py": "VALUE = 1\n"})
    server = Server(config).start()
    try:
        url = server.wait_ready()
        port = int(url.rsplit(":", 1)[1])
        worker_pids = {int(line.split("pid-")[1].split()[0])
                       for line in server.lines if "loading the predictor" in line}
        assert len(worker_pids) == 2
        server.signal(sig, group=group)
        assert server.wait(20) == 0
    finally:
        server.stop()
    assert server.lines[-1] == "stopped API x"
    assert "Traceback" not in server.output
    assert not any(pid_alive(pid) for pid in worker_pids)
    assert port_is_free(port)


def test_a_request_in_flight_is_answered_before_stopping(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    config = write_project(tmp_path / "project", [api("x", "blocking.py",
                                                      config={"dir": str(marks)})])
    with Server(config) as server:
        replies: list = []
        caller = threading.Thread(target=lambda: replies.append(http("POST", server.url)))
        caller.start()
        deadline = time.monotonic() + 20
        while not list(marks.glob("arrived-*")) and time.monotonic() < deadline:
            time.sleep(0.01)
        server.signal(signal.SIGTERM)
        (marks / "release").touch()
        caller.join(30)
        assert server.wait(20) == 0
    assert [(r.status, r.text) for r in replies] == [(200, "released")]


def test_ctrl_c_while_predictors_load(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    config = write_project(tmp_path / "project", [api("x", "slow_init.py", workers=2,
                                                      config={"dir": str(marks)})])
    server = Server(config).start()
    try:
        _wait_until(lambda: len(list(marks.glob("init-*"))) == 2)
        start = time.monotonic()
        server.signal(signal.SIGINT, group=True)
        assert server.wait(10) == 0
        assert time.monotonic() - start < 5
    finally:
        server.stop()
    pids = [int(p.name.split("-")[1]) for p in marks.glob("init-*")]
    assert not any(pid_alive(pid) for pid in pids)
    assert "serving API" not in server.output
    assert "Traceback" not in server.output


def worker_pids(server):
    """The pid of each worker, from its "loading the predictor" log line."""
    return [int(line.split("pid-")[1].split()[0])
            for line in server.lines if "loading the predictor" in line]


def test_workers_do_not_outlive_a_killed_parent(tmp_path):
    config = write_project(tmp_path, [api("x", "echo.py", workers=2)],
                           files={"localmod.py": "VALUE = 1\n"})
    with Server(config) as server:
        pids = worker_pids(server)
        server.proc.kill()  # SIGKILL: the parent cannot stop anything itself
        server.wait(10)
        _wait_until(lambda: not any(pid_alive(pid) for pid in pids))


def _wait_until(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_port_opens_once_every_predictor_is_built(tmp_path):
    """Polling the port is a readiness check: with one of two predictors built, the port
    still refuses connections; once both are built, it answers."""
    marks = tmp_path / "marks"
    marks.mkdir()
    config = write_project(tmp_path / "project", [api("x", "slow_init.py", workers=2,
                                                      config={"dir": str(marks)})])
    server = Server(config).start()
    try:
        line = server.wait_for_line(r"^starting API x .* for http://127\.0\.0\.1:\d+:")
        port = int(line.split("127.0.0.1:")[1].split(":")[0])
        _wait_until(lambda: len(list(marks.glob("built-*"))) == 1
                    and len(list(marks.glob("init-*"))) == 2)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        (marks / "release").touch()
        assert server.wait_ready() == f"http://127.0.0.1:{port}"
        assert http("POST", server.url).text == "ok"
    finally:
        server.stop()
