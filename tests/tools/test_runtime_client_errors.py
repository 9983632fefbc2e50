"""What the runtime itself refuses is a 4xx with JSON {"error": ...} that names the
problem and what to send instead, bounded, with its reason on the request's access line.
Nothing a client sends is a 5xx. (Cortex 0.17 answers malformed JSON with 500, the
others in plain text, and has no body limit: README, "What still differs".)
"""

from __future__ import annotations

import json
import re
import socket

import pytest
import requests

from cortex_tools.runtime.client_errors import MAX_ERROR_CHARS
from tests.tools.serve_helpers import (
    ACCESS_LINE,
    Server,
    api,
    host_port,
    http,
    post_json,
    raw_request,
    write_project,
)

MAX_BODY = 1024 * 1024  # --max-body-size 1M: room for a large (threaded) JSON parse
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    config = write_project(tmp_path_factory.mktemp("client-errors"),
                           [api("echo", "fuzz_echo.py")])
    with Server(config, "--max-body-size", "1M", "--body-timeout", "1",
                "--header-timeout", "2") as started:
        yield started


@pytest.fixture(scope="module")
def url(server) -> str:
    return server.url


def refused(reply, status: int, *words: str) -> str:
    """The error message of a JSON refusal with `status`, checked to name `words`."""
    assert reply.status == status, (reply.status, reply.text if hasattr(reply, "text") else reply)
    assert reply.headers["content-type"] == "application/json"
    body = json.loads(reply.text if hasattr(reply, "text") else reply.body)
    assert list(body) == ["error"]
    message = body["error"]
    assert 0 < len(message) <= MAX_ERROR_CHARS
    for word in words:
        assert word in message, message
    return message


def assert_still_serves(url: str) -> None:
    reply = post_json(url, {"still": "up"})
    assert (reply.status, reply.json()["payload"]) == (200, {"still": "up"})


# --- JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1000, 5000, 100_000])
def test_json_nested_too_deeply_is_a_400(url, depth):
    """~1000 deep raised RecursionError past the payload reader: a 500. 100000 deep is
    200 KB: parsed on the JSON thread (over 64 KiB), where it fails the same way."""
    body = b"[" * depth + b"]" * depth
    reply = http("POST", url, data=body, headers=JSON)
    message = refused(reply, 400, "nested too deeply")
    assert message.endswith("; send a flatter JSON document (UTF-8) with Content-Type: "
                            "application/json")
    assert_still_serves(url)


@pytest.mark.parametrize(("body", "words"), [
    (b'{"sepal_length": ', ("malformed JSON payload: Expecting value",)),
    (b"", ("malformed JSON payload: Expecting value: line 1 column 1",)),
    (b"\xff\xfe\x00garbage", ("malformed JSON payload",)),
    (b'{"a": 1} {"b": 2}', ("Extra data",)),
    (b'["' + b"x" * 200_000, ("malformed JSON payload: Unterminated string",)),  # threaded
])
def test_malformed_json_is_a_400_that_says_what_to_send(url, body, words):
    reply = http("POST", url, data=body, headers=JSON)
    message = refused(reply, 400, *words)
    assert message.endswith("send one JSON document (UTF-8) with Content-Type: "
                            "application/json")
    assert_still_serves(url)


@pytest.mark.parametrize("digits", [4301, 5000])
def test_an_integer_past_pythons_digit_limit_is_a_400_in_the_clients_terms(url, digits):
    """Python 3.11's words ("use sys.set_int_max_str_digits()") are for the server's code."""
    reply = http("POST", url, data=b"1" * digits, headers=JSON)
    message = refused(reply, 400)
    assert message == (f"JSON payload holds an integer of {digits} digits, more than the "
                       "4300 this server's parser reads; send fewer digits")
    assert_still_serves(url)


@pytest.mark.parametrize("text", ["NaN", "-Infinity", '"\\ud800"', "1e999", '{"a": 1, "a": 2}'])
def test_json_that_python_accepts_reaches_predict(url, text):
    """Cortex's json.loads takes these (NaN, a lone surrogate escape, a float overflowing to
    inf, a repeated key); so does the runtime: refusing them is the predictor's call."""
    reply = http("POST", url, data=text.encode(), headers=JSON)
    assert reply.status == 200
    assert reply.json()["type"] == "json"


def test_a_large_json_payload_is_parsed_whole(url):
    payload = {"instances": [[5.1, 3.5, 1.4, 0.2]] * 20_000, "id": "x" * 1000}  # ~500 KB
    reply = post_json(url, payload)
    assert (reply.status, reply.json()["payload"]) == (200, payload)


# --- size limit ----------------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413(url):
    reply = http("POST", url, data=b"x" * (MAX_BODY + 1), headers=JSON)
    refused(reply, 413, "larger than 1 MiB", "--max-body-size")
    assert http("POST", url, data=b"x" * MAX_BODY).status == 200  # the limit itself is fine


def test_a_chunked_body_is_stopped_at_the_limit(url):
    """No Content-Length: the body is read chunk by chunk and refused once past the limit."""
    def chunks():
        for _ in range(64):
            yield b"[" + b"1," * 16_000 + b"1]"  # 64 x 32 KB: twice the limit
    reply = http("POST", url, data=chunks(), headers=JSON)
    refused(reply, 413, "larger than 1 MiB")
    assert_still_serves(url)


def test_a_declared_length_over_the_limit_is_refused_before_the_body(url):
    """With Expect: 100-continue the client is told 413 instead of "continue", so it never
    sends the 100 MB at all."""
    head = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000000\r\nExpect: 100-continue\r\n\r\n")
    with socket.create_connection(host_port(url), timeout=30) as sock:
        sock.sendall(head)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(4096)
            assert chunk, received
            received += chunk
    assert received.startswith(b"HTTP/1.1 413 ")  # the first answer: no "100 Continue"
    reply = raw_request(url, head)
    refused(reply, 413, "larger than 1 MiB")


def test_after_a_413_the_connection_serves_the_next_request(url):
    """The rest of a refused body is read and dropped: a keep-alive client that sends its
    whole body, then its next request, gets both answers."""
    big = b"x" * (2 * MAX_BODY)
    with requests.Session() as session:
        first = session.post(url, data=big, headers=JSON, timeout=30)
        second = session.post(url, json={"next": 1}, timeout=30)
    assert first.status_code == 413
    assert (second.status_code, second.json()["payload"]) == (200, {"next": 1})


# --- time limit ------------------------------------------------------------------------------


def test_a_body_that_does_not_arrive_in_time_is_a_408(url):
    head = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10\r\n\r\n[1,")  # 3 of 10 bytes, then nothing
    reply = raw_request(url, head)
    refused(reply, 408, "not received within 1 s", "--body-timeout")
    assert reply.headers["connection"] == "close"
    assert_still_serves(url)


# --- routes and methods ----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "status", "words"), [
    ("POST", "/iris-classifier", 404, ("no route /iris-classifier", "POST a payload to / or "
                                       "/predict")),
    ("GET", "/predict/more", 404, ("no route /predict/more",)),
    ("PUT", "/", 405, ("method PUT not allowed on /", "POST a payload")),
    ("DELETE", "/predict", 405, ("method DELETE not allowed on /predict",)),
    ("OPTIONS", "/", 405, ("method OPTIONS",)),  # no Origin: not a CORS preflight
])
def test_unknown_routes_and_methods_are_json(url, method, path, status, words):
    reply = http(method, url + path, json={})
    refused(reply, status, *words)
    if status == 405:
        assert set(reply.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}


def test_an_error_about_a_long_path_is_bounded(url):
    path = "/" + "a" * 20_000
    message = refused(http("GET", url + path), 404, "no route /aaaa")
    assert len(message) == MAX_ERROR_CHARS
    assert message.endswith("…")


# --- forms and content types -----------------------------------------------------------------


@pytest.mark.parametrize(("content_type", "body", "words"), [
    ("multipart/form-data", b"field=1", ("malformed form payload: Missing boundary",)),
    ("multipart/form-data; boundary=XX", b"--XX\r\nno-disposition: 1\r\n\r\nv\r\n--XX--\r\n",
     ("malformed form payload",)),
    ("multipart/form-data; boundary=XX", b"garbage", ("malformed form payload",)),
])
def test_form_errors_are_json(url, content_type, body, words):
    reply = http("POST", url, data=body, headers={"Content-Type": content_type})
    message = refused(reply, 400, *words)
    assert "send multipart/form-data with its boundary" in message
    assert_still_serves(url)


def test_json_in_another_charset_is_refused_naming_utf8(url):
    body = '{"name": "café"}'.encode("latin-1")
    reply = http("POST", url, data=body, headers={"Content-Type": "application/json; "
                                                                  "charset=latin-1"})
    refused(reply, 400, "malformed JSON payload", "(UTF-8)")


def test_other_content_types_are_not_refused(url):
    """A predictor may want bytes: the runtime passes them, whatever the type says."""
    for content_type in ("text/plain", "application/x-tar", "image/png", "nonsense"):
        reply = http("POST", url, data=b'{"a": 1}', headers={"Content-Type": content_type})
        assert (reply.status, reply.json()["type"]) == (200, "bytes")


# --- malformed HTTP, answered by the protocol ------------------------------------------------


@pytest.mark.parametrize(("data", "status", "words"), [
    (b"FOO / HTTP/1.1\r\n\r\n", 400, ("malformed HTTP request (Invalid method encountered)",
                                      "send an HTTP/1.1 request")),
    (b"GET /\xff HTTP/1.1\r\n\r\n", 400, ("malformed HTTP request",)),
    (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
     ("Transfer-Encoding",)),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, ("malformed HTTP request",)),  # TLS
    (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431,
     ("request head (URL and headers) larger than 64 KiB",)),
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 431, ("larger than 64 KiB",)),
])
def test_malformed_http_is_json(url, data, status, words):
    """uvicorn answered these in plain text ("Invalid HTTP request received.") or, for a
    head without end, not at all: headers piled up in memory."""
    reply = raw_request(url, data)
    refused(reply, status, *words)
    assert reply.headers["connection"] == "close"
    assert_still_serves(url)


# --- the access log ----------------------------------------------------------------------------


def test_each_refusal_has_its_reason_on_its_access_line(server, url):
    http("POST", url, data=b"[1,", headers=JSON)
    http("PATCH", url + "/predict")
    raw_request(url, b"FOO / HTTP/1.1\r\n\r\n")
    http("POST", url, data=b"x" * (MAX_BODY + 1))
    access = ACCESS_LINE.format
    for line in (
        access(method="POST", path="/", status=400) + r": malformed JSON payload: Expecting "
        r"value: line 1 column 4 \(char 3\)$",
        access(method="PATCH", path="/predict", status=405) + ": method PATCH not allowed on "
        r"/predict: POST a payload to / or /predict \(GET there answers a summary\)$",
        access(method="-", path="-", status=400) + r": malformed HTTP request \(Invalid "
        r"method encountered\)$",
        access(method="POST", path="/", status=413) + r": payload larger than 1 MiB \(the "
        r"runtime's --max-body-size\)$",
    ):
        server.wait_for_line(line)
    assert not [line for line in server.lines if re.search(r" 5\d\d \d+\.\dms", line)]
