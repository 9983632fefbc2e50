"""The seed page's TensorFlow failures, reproduced through HTTP on `make serve`.

Through the server, as on a cluster: the predictor is built on a worker's main thread and
predict runs on the pool. User code that adds a placeholder per call and feeds it fails
with no strategy even at threads_per_worker 1; the page's enter-once flag works at 1 and
fails at 4; the session's graph as default around each call works at 4.
"""

from __future__ import annotations

import re

import pytest

from tests.tools.serve_helpers import Server, api, concurrently, post_json, running, write_project

FEED_ERROR = (r'Cannot interpret feed_dict key as Tensor: Tensor Tensor\("Placeholder[^"]*", .*\) '
              r"is not an element of this graph")
ROW = {"sepal_length": 5.2, "sepal_width": 3.6, "petal_length": 1.4, "petal_width": 0.3}
SCORE = 5.2 * 0.5 + 3.6 * 0.25 - 1.4 - 0.3 * 2


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tf")
    apis = [
        api("no-strategy-1", "tf_no_strategy.py", threads=1),
        api("enter-once-1", "tf_enter_once.py", threads=1),
        api("enter-once-4", "tf_enter_once.py", threads=4),
        api("graph-as-default-4", "tf_graph_as_default.py", threads=4),
    ]
    config = write_project(folder, apis)
    servers = {entry["name"]: Server(config, "--api", entry["name"]) for entry in apis}
    with running(servers) as started:
        yield started


def payload(sync: int = 1) -> dict:
    return {**ROW, "sync": sync}


def round_of(server: Server, calls: int, sync: int) -> list:
    return concurrently([lambda: post_json(server.url, payload(sync))] * calls)


def test_no_strategy_fails_with_one_thread(servers):
    server = servers["no-strategy-1"]
    reply = post_json(server.url, payload())
    assert (reply.status, reply.text) == (500, "internal server error")
    assert re.search(FEED_ERROR, server.wait_for_line(FEED_ERROR))
    assert "Traceback" in server.output and "Traceback" not in reply.text


def test_page_enter_once_works_with_one_thread(servers):
    server = servers["enter-once-1"]
    replies = round_of(server, 8, sync=1)
    assert [r.status for r in replies] == [200] * 8, [r.text for r in replies]
    assert [r.json()["score"] for r in replies] == [pytest.approx(SCORE, abs=1e-5)] * 8
    assert len({r.json()["thread"] for r in replies}) == 1


def test_page_enter_once_fails_with_four_threads(servers):
    """The first call enters the session on its thread. Then 4 calls held until all run
    at once take all 4 pool threads: only the one that entered can predict."""
    server = servers["enter-once-4"]
    first = post_json(server.url, payload())
    assert first.status == 200, first.text
    replies = round_of(server, 4, sync=4)
    statuses = sorted(r.status for r in replies)
    assert statuses == [200, 500, 500, 500], [r.text for r in replies]
    ok = next(r for r in replies if r.status == 200)
    assert ok.json()["thread"] == first.json()["thread"]
    server.wait_for_line(FEED_ERROR)


def test_graph_as_default_works_with_four_threads(servers):
    server = servers["graph-as-default-4"]
    replies = round_of(server, 4, sync=4) + round_of(server, 4, sync=4)
    assert [r.status for r in replies] == [200] * 8, [r.text for r in replies]
    assert len({r.json()["thread"] for r in replies}) == 4
    assert [r.json()["score"] for r in replies] == [pytest.approx(SCORE, abs=1e-5)] * 8
