"""bench.load, bench.servers and bench.rounds against real servers: the bare ASGI app
(starts in a second) and the runtime with a predictor that always fails."""

from __future__ import annotations

import dataclasses
import os
import shutil

import pytest
import yaml

from cortex_tools.bench import load, rounds, run, servers
from cortex_tools.bench.rounds import Target
from cortex_tools.bench.settings import QUICK

FAILING_PREDICTOR = """
class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        raise RuntimeError("always")
"""

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


@pytest.fixture(scope="module")
def bare_url():
    with servers.bare_server() as server:
        yield server.start()


@pytest.fixture(scope="module")
def failing_url(tmp_path_factory):
    project = tmp_path_factory.mktemp("failing")
    (project / "predictor.py").write_text(FAILING_PREDICTOR)
    config = project / "cortex.yaml"
    config.write_text(yaml.safe_dump([{"name": "failing", "predictor": {
        "type": "python", "path": "predictor.py"}}]))
    with servers.runtime_server(config, None, threads=1, workers=1) as server:
        yield server.start()


def test_a_run_makes_the_requested_count_and_no_more_than_one_per_connection(bare_url):
    result = load.run_wrk(bare_url, 700, concurrency=8)
    assert result.requested == 700
    # Responses already read when wrk's thread stops still count: at most one per connection.
    assert 700 <= result.counted <= 708
    assert result.errors == 0, result.error_detail
    assert result.window_s > 0 and result.rps == pytest.approx(result.counted / result.window_s,
                                                               rel=1e-3)
    assert 0 < result.p50_ms <= result.p90_ms <= result.p99_ms <= result.max_ms
    assert result.client_cpu_s > 0  # wrk's own CPU, from the reaped child


def test_error_answers_are_counted_as_errors(failing_url):
    status, text = load.probe(failing_url)
    assert (status, text) == (500, "internal server error")
    result = load.run_wrk(failing_url, 200, concurrency=4)
    assert result.error_detail["status"] == result.counted >= 200
    assert result.errors >= 200


def test_rounds_give_each_server_its_runs_and_its_cpu():
    plan = dataclasses.replace(QUICK, requests=300, runs=3, warmup_requests=50)
    targets = [Target(name, servers.bare_server(), lambda status, text: status == 200)
               for name in ("a", "b")]
    rows = rounds.measure_together(targets, plan, say=lambda line: None)
    assert set(rows) == {"a", "b"}
    for row in rows.values():
        assert len(row["runs"]) == 3 and row["requests"] == 300 and row["errors"] == 0
        assert row["rps"] == sorted(row["runs"])[1]  # the median of the three
        assert row["server_cpu_us_per_request"] > 0 and row["wrk_cpu_us_per_request"] > 0
    for target in targets:
        assert target.server.proc.poll() is not None, "a server outlived its rounds"


def test_a_server_answering_wrongly_stops_the_rounds_and_every_server():
    plan = dataclasses.replace(QUICK, requests=100, runs=1, warmup_requests=0)
    good = Target("good", servers.bare_server(), lambda status, text: True)
    wrong = Target("wrong", servers.bare_server(), lambda status, text: False)
    with pytest.raises(load.LoadError, match="bare ASGI answered 200"):
        rounds.measure_together([good, wrong], plan, say=lambda line: None)
    assert good.server.proc.poll() is not None and wrong.server.proc.poll() is not None


def test_missing_wrk_without_root_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(load.shutil, "which", lambda name: None)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(load.LoadError, match=r"sudo apt-get install -y wrk"):
        load.ensure_wrk()
    # `make bench` stops before measuring anything, with the same instructions.
    assert run.main(["--quick", "--out", str(tmp_path)]) == 2
    assert "sudo apt-get install -y wrk" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
