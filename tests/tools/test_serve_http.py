"""`make serve` answers HTTP as a Cortex 0.17 API does (../shared/cortex-0.17.md section 2).

One real server per predictor, as a subprocess on a free loopback port.
"""

from __future__ import annotations

import re
import statistics
import time

import pytest
import requests

from tests.tools.serve_helpers import (
    ACCESS_LINE,
    Server,
    api,
    concurrently,
    http,
    post_json,
    running,
    write_project,
)

SUMMARY = {"message": "make a prediction by sending a post request to this endpoint "
                      "with a json payload"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """name -> a ready Server; started together, stopped at the end of the module."""
    folder = tmp_path_factory.mktemp("http")
    apis = [
        api("echo", "echo.py", config={"answer": 42}),
        api("query-only", "query_only.py"),
        api("no-args", "no_args.py"),
        api("returns", "returns.py"),
    ]
    config = write_project(folder, apis, files={"localmod.py": "VALUE = 'local'\n"})
    with running({
        "echo": Server(config, "--api", "echo"),
        "query-only": Server(config, "--api", "query-only"),
        "no-args": Server(config, "--api", "no-args"),
        "returns": Server(config, "--api", "returns", "--no-access-log"),
    }) as started:
        yield started


@pytest.fixture(scope="module")
def echo(servers) -> str:
    return servers["echo"].url


@pytest.fixture(scope="module")
def returns(servers) -> str:
    return servers["returns"].url


# --- routes -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/predict"])
def test_get_answers_the_summary(echo, path):
    reply = http("GET", echo + path)
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == SUMMARY


@pytest.mark.parametrize("path", ["/", "/predict"])
def test_post_predicts(echo, path):
    reply = post_json(echo + path, {"a": 1})
    assert reply.status == 200
    assert reply.json()["payload"] == {"a": 1}


def test_other_paths_are_not_found(echo):
    assert http("POST", echo + "/iris-classifier", json={}).status == 404
    assert http("GET", echo + "/predict/more").status == 404


# --- payload by Content-Type --------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_json_is_parsed(echo, content_type):
    reply = http("POST", echo, data=b'{"x": [1, 2.5, null]}',
                 headers={"Content-Type": content_type})
    body = reply.json()
    assert (body["payload_type"], body["payload"]) == ("dict", {"x": [1, 2.5, None]})


def test_urlencoded_form_is_form_data(echo):
    reply = http("POST", echo, data={"a": ["1", "2"], "b": "x"})
    assert reply.json()["payload_type"] == "FormData"
    assert reply.json()["payload"] == [["a", "1"], ["a", "2"], ["b", "x"]]


def test_multipart_form_is_form_data_with_files(echo):
    reply = http("POST", echo, data={"field": "v"}, files={"upload": ("a.txt", b"file body")})
    assert reply.json()["payload_type"] == "FormData"
    assert reply.json()["payload"] == [
        ["field", "v"], ["upload", {"filename": "a.txt", "content": "file body"}]]


@pytest.mark.parametrize("headers", [{"Content-Type": "text/plain"},
                                     {"Content-Type": "application/octet-stream"}, {}])
def test_anything_else_is_raw_bytes(echo, headers):
    reply = http("POST", echo, data=b"\x01raw {not json", headers=headers)
    assert reply.status == 200
    assert (reply.json()["payload_type"], reply.json()["payload"]) == ("bytes", "\x01raw {not json")


# --- arguments by signature ---------------------------------------------------------------


def test_query_params_and_headers_are_starlette_objects(echo):
    reply = http("POST", echo + "/?a=1&a=2&b=3", json={}, headers={"X-Test": "hello"})
    body = reply.json()
    assert body["query_params_type"] == "QueryParams"
    assert body["query"] == [["a", "1"], ["a", "2"], ["b", "3"]]
    assert body["headers_type"] == "Headers"
    assert body["x_test"] == "hello"


def test_config_reaches_init(echo):
    assert post_json(echo, {}).json()["config"] == {"answer": 42}


def test_a_predict_without_payload_never_reads_the_body(servers):
    """Cortex parses the payload only for a predict that names it: broken JSON is fine."""
    url = servers["query-only"].url
    reply = http("POST", url + "/?k=v", data=b"{broken", headers=JSON)
    assert (reply.status, reply.json()) == (200, {"query": {"k": "v"}})


def test_a_predict_with_no_arguments(servers):
    reply = http("POST", servers["no-args"].url, json={"ignored": True})
    assert (reply.status, reply.text) == (200, "called with no arguments")


# --- return values ------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "content_type", "body"), [
    ("bytes", "application/octet-stream", "\x00\x01raw"),
    ("str", "text/plain; charset=utf-8", "plain text"),
    ("dict", "application/json", '{"a": [1, 2.5, null, true]}'),
    ("list", "application/json", '[1, "two"]'),
    ("none", "application/json", "null"),
])
def test_return_conversions(returns, kind, content_type, body):
    reply = post_json(returns, {"kind": kind})
    assert (reply.status, reply.headers["content-type"], reply.text) == (200, content_type, body)


def test_a_starlette_response_is_passed_through(returns):
    reply = post_json(returns, {"kind": "response"})
    assert reply.status == 418
    assert reply.headers["content-type"] == "application/x-teapot"
    assert reply.headers["x-custom"] == "yes"
    assert reply.text == "a teapot"


def test_a_predictor_sets_its_own_400(returns):
    reply = post_json(returns, {"kind": "bad_request"})
    assert (reply.status, reply.json()) == (400, {"error": "sepal_length is missing"})


# --- errors: 400, 500, and the server stays up ---------------------------------------------


def test_malformed_json_is_a_400_with_a_json_message(echo):
    reply = http("POST", echo, data=b'{"sepal_length": ', headers=JSON)
    assert reply.status == 400
    assert reply.headers["content-type"] == "application/json"
    assert re.match(r"malformed JSON payload: Expecting value: line 1 column \d+",
                    reply.json()["error"])
    assert post_json(echo, {"still": "up"}).status == 200


def test_an_exception_in_predict_is_a_500_with_the_traceback_in_the_log_only(servers, returns):
    reply = post_json(returns, {"kind": "raise"})
    assert (reply.status, reply.text) == (500, "internal server error")
    log = servers["returns"].wait_for_line(r"ValueError: secret detail 12345")
    assert log
    assert "Traceback (most recent call last)" in servers["returns"].output
    assert "exception in predict" in servers["returns"].output
    assert post_json(returns, {"kind": "str"}).status == 200


def test_a_value_that_is_not_json_is_a_500(servers, returns):
    reply = post_json(returns, {"kind": "unserializable"})
    assert (reply.status, reply.text) == (500, "internal server error")
    servers["returns"].wait_for_line(r"predict returned dict: .*not JSON serializable.*"
                                     r"please return an object that is JSON serializable")
    assert post_json(returns, {"kind": "dict"}).status == 200


# --- CORS, as Cortex configures it ---------------------------------------------------------


@pytest.mark.parametrize("origin", ["https://app.example", "http://localhost:3000"])
def test_cors_allows_any_origin(echo, origin):
    reply = http("POST", echo, json={}, headers={"Origin": origin})
    assert reply.status == 200
    # Cortex allows every origin, with credentials; Starlette says so with "*" (0.13,
    # no cookie) or by echoing the origin (today, as the CORS spec wants with credentials).
    assert reply.headers["access-control-allow-origin"] in ("*", origin)
    assert reply.headers["access-control-allow-credentials"] == "true"


def test_a_request_without_origin_gets_no_cors_headers_as_on_cortex(echo):
    """Starlette 0.13, Cortex 0.17's, leaves a request without Origin to the app; newer
    Starlette would add Vary: Origin, which the runtime does not."""
    reply = http("POST", echo, json={})
    assert reply.status == 200
    assert not [name for name in reply.headers if name.startswith("access-control-")]
    assert "vary" not in reply.headers


def test_cors_preflight(echo):
    reply = http("OPTIONS", echo, headers={
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-custom",
    })
    assert reply.status == 200
    assert "POST" in reply.headers["access-control-allow-methods"]
    assert reply.headers["access-control-allow-headers"].lower() == "content-type,x-custom"


# --- logs ---------------------------------------------------------------------------------


def test_one_access_line_per_request(servers, echo):
    http("GET", echo + "/predict")
    http("POST", echo + "/nowhere", json={})
    server = servers["echo"]
    server.wait_for_line(ACCESS_LINE.format(method="GET", path="/predict", status=200))
    server.wait_for_line(ACCESS_LINE.format(method="POST", path="/nowhere", status=404))


def test_no_access_log_flag(servers, returns):
    concurrently([lambda: post_json(returns, {"kind": "str"})] * 3)
    # the 500 test above logs through the same server; access lines would say "POST / "
    assert not re.search(r"INFO POST / \d{3} ", servers["returns"].output)


def test_keep_alive_requests_are_not_held_by_nagle(servers, echo):
    """A response goes out in two writes (headers, body): with Nagle's algorithm on, the
    second waits for the client's delayed ACK, about 40 ms, on every keep-alive request."""
    with requests.Session() as session:
        latencies = []
        for _ in range(15):
            start = time.perf_counter()
            assert session.post(echo, json={}, timeout=10).status_code == 200
            latencies.append(time.perf_counter() - start)
    assert statistics.median(latencies) < 0.02, latencies
