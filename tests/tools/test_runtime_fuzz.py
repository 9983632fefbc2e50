"""The fuzzer: generated payloads, bodies, headers, methods and raw requests against the
local runtime over HTTP (strategies in hostile.py). For every example: no 5xx; every 4xx
is JSON {"error": ...} with a non-empty, bounded message; answers are bounded; and a valid
request right after still gets the right answer.

One server per module (fuzz_echo.py answers any payload with a bounded summary). Each test
is bounded in examples; hypothesis's deadline only catches a hang (an upper bound).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cortex_tools.runtime.client_errors import MAX_ERROR_CHARS
from tests.tools import hostile
from tests.tools.serve_helpers import Server, api, raw_request, write_project

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

MAX_ERROR_BODY = 1024  # bytes of a {"error": ...} answer: 300 characters, JSON-escaped
# How each of the runtime's own refusals starts: the problem, named (fuzz_echo.py never
# refuses anything itself)
PROBLEMS = (
    "malformed JSON payload: ", "JSON payload nested too deeply", "malformed form payload",
    "JSON payload holds an integer of ",
    "payload larger than ", "payload not received within ", "no route ", "method ",
    "malformed HTTP request (", "request head ", "request asks to switch protocols",
    "this worker is answering ", "the client disconnected",
)
FUZZ = settings(
    max_examples=120,
    deadline=timedelta(seconds=20),  # a hung example, not a slow one
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    config = write_project(tmp_path_factory.mktemp("fuzz"), [api("fuzz", "fuzz_echo.py")])
    # short timeouts: an example that leaves a head or body unfinished costs 1 s, not 30
    with Server(config, "--max-body-size", "1M", "--header-timeout", "1",
                "--body-timeout", "1") as server:
        yield server.url


def check_answer(status: int | None, headers: dict[str, str], body: bytes,
                 request_size: int, method: str = "") -> None:
    """The rules every answer follows, whatever was sent."""
    assert status is not None, "closed without an answer"
    assert status < 500, (status, body[:500])
    if status >= 400:
        assert headers.get("content-type") == "application/json", (status, headers, body)
        if method == "HEAD":  # the same answer, without its body
            return
        assert len(body) <= MAX_ERROR_BODY, body
        answer = json.loads(body)
        assert list(answer) == ["error"]
        assert isinstance(answer["error"], str)
        assert 0 < len(answer["error"]) <= MAX_ERROR_CHARS
        assert answer["error"].startswith(PROBLEMS), answer["error"]
    else:
        assert len(body) <= max(4096, 8 * request_size), len(body)


def check_still_serves(url: str) -> None:
    reply = requests.post(url, json={"after": [1, 2.5]}, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"type": "json", "payload": {"after": [1, 2.5]}}


def check_reply(reply: requests.Response, request_size: int) -> None:
    headers = {name.lower(): value for name, value in reply.headers.items()}
    check_answer(reply.status_code, headers, reply.content, request_size,
                 reply.request.method or "")


# --- through an HTTP client ----------------------------------------------------------------


@FUZZ
@given(value=hostile.json_values())
def test_json_values_reach_predict_as_they_were_sent(url, value):
    body = hostile.dumps(value, ascii_only=False, compact=True)
    reply = requests.post(url, data=body, headers={"Content-Type": "application/json"},
                          timeout=30)
    check_reply(reply, len(body))
    assert reply.status_code == 200
    answer = reply.json()
    assert answer["type"] == "json"
    assert hostile.same_json(answer["payload"], value)


@FUZZ
@given(text=hostile.json_texts())
def test_any_json_text_is_parsed_or_refused_with_a_json_400(url, text):
    reply = requests.post(url, data=text, headers={"Content-Type": "application/json"},
                          timeout=30)
    check_reply(reply, len(text))
    if reply.status_code == 200:
        assert hostile.same_json(reply.json()["payload"], json.loads(text))
    else:
        assert reply.status_code == 400
        assert "JSON" in reply.json()["error"]
    check_still_serves(url)


@FUZZ
@given(body=hostile.raw_bodies(), content_type=hostile.content_types())
def test_any_body_with_any_content_type(url, body, content_type):
    reply = requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=30)
    check_reply(reply, len(body))
    if reply.status_code >= 400:
        assert reply.status_code == 400
        assert reply.json()["error"].startswith(("malformed JSON", "JSON payload nested",
                                                 "JSON payload holds an integer of ",
                                                 "malformed form payload"))
    check_still_serves(url)


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
       path=hostile.paths(), headers=hostile.header_sets())
def test_methods_paths_and_headers(url, method, path, headers):
    allowed = [(name, value) for name, value in headers
               if name.lower() not in ("content-length", "transfer-encoding", "host", "expect")
               and "\xff" not in value and "\xfe" not in value and "\xe9" not in value]
    try:
        reply = requests.request(method, url + path, headers=dict(allowed), data=b"{}",
                                 timeout=30, allow_redirects=False)
    except (requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader, ValueError):
        return  # the client refused to send it: raw_requests covers the rest
    check_reply(reply, 2 + len(path))
    check_still_serves(url)


# --- raw bytes on a socket -------------------------------------------------------------------


@FUZZ
@given(request=hostile.raw_requests())
def test_raw_requests(url, request):
    reply = raw_request(url, request.data, method=request.method)
    check_answer(reply.status, reply.headers, reply.body, len(request.data), request.method)
    check_still_serves(url)


@settings(FUZZ, max_examples=60)
@given(request=hostile.garbage_requests())
def test_garbage(url, request):
    reply = raw_request(url, request.data)
    if reply.status is not None:  # a head that ends at once may get no answer: closed
        check_answer(reply.status, reply.headers, reply.body, len(request.data))
    check_still_serves(url)
