"""Connections: idle and slow ones are closed after the head timeout and never hold a
slot; the 503 threshold counts requests in flight, round(max_replica_concurrency /
workers_per_replica) per worker, whatever else is connected.

Cortex's uvicorn (0.11.5, and today's) counts open connections and unfinished request
tasks against limit_concurrency = 1 + that: 64 sockets that never sent a byte made every
client get 503 for as long as they stayed open, and 40 keep-alive clients did at a limit
of 65. On a cluster a load balancer holds the clients' connections; locally they arrive
directly, so the runtime counts requests (README, "What still differs").
"""

from __future__ import annotations

import json
import socket
import threading
from http.client import HTTPResponse

import pytest
import requests

from tests.tools.serve_helpers import (
    ACCESS_LINE,
    Server,
    api,
    closed_by_peer,
    host_port,
    http,
    idle_sockets,
    post_json,
    raw_request,
    still_open,
    wait_until,
    write_project,
)

MAX_CONCURRENCY = 3  # max_replica_concurrency, 1 worker: 3 in flight, the 4th gets 503


@pytest.fixture(scope="module")
def marks(tmp_path_factory):
    return tmp_path_factory.mktemp("marks")


@pytest.fixture(scope="module")
def blocking(tmp_path_factory, marks):
    """blocking.py with more predict threads than may be in flight (--threads: a config
    may not say so) and a head timeout long enough for idle sockets to stay open."""
    config = write_project(tmp_path_factory.mktemp("blocking"), [api(
        "limited", "blocking.py", threads=MAX_CONCURRENCY,
        max_concurrency=MAX_CONCURRENCY, config={"dir": str(marks)})])
    with Server(config, "--threads", str(MAX_CONCURRENCY + 1),
                "--header-timeout", "120") as server:
        yield server


@pytest.fixture(scope="module")
def echo(tmp_path_factory):
    """fuzz_echo.py with a 1 s head timeout and 4 requests in flight at most."""
    config = write_project(tmp_path_factory.mktemp("echo"), [api(
        "echo", "fuzz_echo.py", threads=2, max_concurrency=4)])
    with Server(config, "--header-timeout", "1") as server:
        yield server


def hold_requests(server: Server, marks, count: int) -> tuple[list, list[threading.Thread]]:
    """`count` requests held inside predict (blocking.py), each on its own connection."""
    replies: list = []
    before = len(list(marks.glob("arrived-*")))
    threads = [threading.Thread(target=lambda: replies.append(http("POST", server.url)))
               for _ in range(count)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(list(marks.glob("arrived-*"))) == before + count,
               what=f"{count} requests inside predict")
    return replies, threads


def release(marks, threads: list[threading.Thread]) -> None:
    (marks / "release").touch()
    for thread in threads:
        thread.join(60)
    (marks / "release").unlink()


def test_the_503_threshold_counts_requests_in_flight_only(blocking, marks):
    """With 10 sockets that never send a byte and 5 idle keep-alive connections open
    (15 connections: uvicorn's rule would refuse everything at a limit of 4), exactly
    MAX_CONCURRENCY requests are admitted at once, and the next one gets 503."""
    idle = idle_sockets(blocking.url, 10)
    sessions = [requests.Session() for _ in range(5)]
    try:
        for session in sessions:  # one request each, then the connection stays open, idle
            assert session.get(blocking.url, timeout=30).status_code == 200

        replies, threads = hold_requests(blocking, marks, MAX_CONCURRENCY)
        rejected = http("POST", blocking.url)
        assert rejected.status == 503
        assert rejected.headers["content-type"] == "application/json"
        assert rejected.headers["connection"] == "close"
        assert json.loads(rejected.text)["error"].startswith(
            f"this worker is answering {MAX_CONCURRENCY} requests already")
        release(marks, threads)
        assert [r.status for r in replies] == [200] * MAX_CONCURRENCY

        # finished requests no longer count: the same number is admitted again at once
        replies, threads = hold_requests(blocking, marks, MAX_CONCURRENCY)
        assert http("POST", blocking.url).status == 503
        release(marks, threads)
        assert [r.status for r in replies] == [200] * MAX_CONCURRENCY
        assert all(still_open(sock) for sock in idle)  # they were there all along
    finally:
        for sock in idle:
            sock.close()
        for session in sessions:
            session.close()
    blocking.wait_for_line(ACCESS_LINE.format(method="POST", path="/", status=503)
                           + f": this worker is answering {MAX_CONCURRENCY} requests")


def test_many_idle_and_slow_sockets_do_not_turn_a_client_away(blocking):
    """64 byte-less sockets and 64 with half a head (slowloris), when uvicorn's
    limit_concurrency would be 4 here: the API still answers on the 129th connection."""
    idle = idle_sockets(blocking.url, 128)
    for sock in idle[64:]:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    try:
        assert http("GET", blocking.url).status == 200
        assert http("GET", blocking.url + "/predict").status == 200
    finally:
        for sock in idle:
            sock.close()


def test_idle_sockets_are_closed_after_the_head_timeout(echo):
    idle = idle_sockets(echo.url, 20)
    try:
        assert post_json(echo.url, {"a": 1}).status == 200  # served while they wait
        assert all(closed_by_peer(sock) for sock in idle)  # closed, without an answer
    finally:
        for sock in idle:
            sock.close()
    assert post_json(echo.url, {"a": 2}).status == 200


def test_a_slowloris_head_gets_408_and_is_closed(echo):
    """Part of a head, then a byte now and then (here: nothing more): 408 at the timeout,
    whatever else arrives, and the slot it never held stays free."""
    reply = raw_request(echo.url, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: appl")
    assert reply.status == 408
    assert reply.headers["connection"] == "close"
    assert json.loads(reply.body)["error"].startswith(
        "request head not complete within 1 s (the runtime's --header-timeout)")
    echo.wait_for_line(ACCESS_LINE.format(method="-", path="-", status=408)
                       + ": request head not complete within 1 s")


def test_a_keep_alive_connection_owes_its_next_head_in_time_too(echo):
    """After an answer, the next head is due within the timeout as well. (uvicorn's own
    keep-alive timer stops at the first byte: a slow next head was never cut off.)"""
    request = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: 2\r\n\r\n{}")
    with socket.create_connection(host_port(echo.url), timeout=30) as sock:
        sock.sendall(request)
        first = HTTPResponse(sock)
        first.begin()
        first.read()
        assert (first.status, first.getheader("connection")) == (200, None)  # kept alive
        sock.sendall(b"POST / HT")  # the next request's head, stalled
        second = HTTPResponse(sock)
        second.begin()
        assert second.status == 408
        assert json.loads(second.read())["error"].startswith("request head not complete")
        assert closed_by_peer(sock)


def test_busy_keep_alive_clients_within_the_limit_never_get_503(echo):
    """4 clients, each with one request at a time on its own keep-alive connection, at a
    limit of 4 in flight: never a 503. (uvicorn counted a finished request's task until
    its done-callback ran, so such clients got 503 at 40 of 65.)"""
    statuses: list[int] = []

    def client() -> None:
        with requests.Session() as session:
            for i in range(100):
                statuses.append(session.post(echo.url, json={"i": i}, timeout=30).status_code)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert statuses == [200] * 400
