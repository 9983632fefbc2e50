"""The README's table of requests answered otherwise than on Cortex ("What still differs
from a cluster"): each row's right column must be what the image's stack answers.

The project's first API is served by tools/cortex_tools/image_stack/py36/cortex_serve.py:
the project's predictor behind the image's own uvicorn 0.11.5, FastAPI 0.54.1 and
Starlette 0.13.2, as Cortex 0.17's serve.py serves it. Each row's request is sent for real
(curl for the form, a raw socket for malformed HTTP) and what comes back is written in the
table's own words ("500, plain text"), then compared with the README's cell.
"""

import json
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.conftest import ROOT

TABLE_INTRO = "tests/image/test_cortex_answers.py"
# As Cortex computes uvicorn's limit_concurrency for max_replica_concurrency 2 and one
# worker: 1 + round(2 / 1). Small, so that a row can fill it with idle connections.
LIMIT_CONCURRENCY = 3
ORIGIN = "http://client.example"


def readme_rows():
    """{request: README's "on Cortex 0.17" cell} of the table after TABLE_INTRO."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index(TABLE_INTRO):].split("\n\n")[1]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells[2]
    return rows


ROWS = readme_rows()


@pytest.fixture(scope="module")
def server():
    from tests.template.conftest import SPECS

    stand_in = ROOT / "tools" / "cortex_tools" / "image_stack" / "py36" / "cortex_serve.py"
    process = subprocess.Popen(
        [sys.executable, str(stand_in), SPECS[0].name, str(LIMIT_CONCURRENCY)],
        stdout=subprocess.PIPE, universal_newlines=True)
    try:
        line = process.stdout.readline()
        found = re.match(r"serving on (\d+)", line)
        assert found, "the stand-in did not start: %r" % line
        yield "127.0.0.1", int(found.group(1))
    finally:
        process.terminate()
        process.wait(timeout=30)


def sample():
    return json.loads((ROOT / "sample.json").read_text())


def post(address, body, content_type="application/json", *, method="POST", path="/",
         headers=None):
    """(status, Content-Type, body, headers) of one request on a connection of its own."""
    request = urllib.request.Request("http://%s:%d%s" % (address + (path,)), data=body,
                                     method=method, headers=dict(headers or {}))
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return (response.status, response.headers.get("content-type", ""),
                    response.read(), response.headers)
    except urllib.error.HTTPError as error:
        return (error.code, error.headers.get("content-type", ""), error.read(),
                error.headers)


def described(status, content_type, body):
    """The answer in the table's words: "400, JSON", "500, plain text", and for a 4xx
    JSON error that says to send JSON, ": send it as JSON"."""
    try:
        parsed = json.loads(body.decode("utf-8")) if "json" in content_type else None
    except ValueError:
        parsed = None
    if parsed is None:
        return "%d, plain text" % status
    hint = "Content-Type: application/json" in str(parsed.get("error", "")) if isinstance(
        parsed, dict) else False
    return "%d, JSON%s" % (status, ": send it as JSON" if hint else "")


def first_field_as(value):
    """sample.json with its first field's value replaced by `value`, as JSON text."""
    payload = sample()
    assert isinstance(payload, dict) and payload, "sample.json is not a JSON object"
    return json.dumps(dict(payload, **{next(iter(payload)): value})).encode()


def malformed_json(address):
    return described(*post(address, b'{"not": "closed"')[:3])


def deep_json(address):
    depth = 100000
    return described(*post(address, b"[" * depth + b"]" * depth)[:3])


def huge_integer(address):
    return described(*post(address, first_field_as(int("9" * 4301)))[:3])


def json_as_a_form(address):
    done = subprocess.run(["curl", "-s", "-d", "@sample.json", "-w", "\n%{http_code} "
                           "%{content_type}", "http://%s:%d/" % address], cwd=str(ROOT),
                          stdout=subprocess.PIPE, universal_newlines=True, timeout=60)
    body, _, last = done.stdout.rpartition("\n")
    status, _, content_type = last.partition(" ")
    return described(int(status), content_type, body.encode())


def unknown_path(address):
    return described(*post(address, None, None, method="GET", path="/no/such/path")[:3])


def another_method(address):
    return described(*post(address, b"{}", method="PUT")[:3])


def while_the_limit_is_open(address):
    idle = [socket.create_connection(address, timeout=30)
            for _ in range(LIMIT_CONCURRENCY - 1)]
    try:
        return described(*post(address, json.dumps(sample()).encode())[:3])
    finally:
        for connection in idle:
            connection.close()


def malformed_http(address):
    with socket.create_connection(address, timeout=30) as connection:
        connection.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        answer = connection.recv(65536)
    return "no answer: connection closed" if answer == b"" else answer[:40].decode("latin-1")


def cors(address):
    headers = post(address, json.dumps(sample()).encode(), headers={"Origin": ORIGIN})[3]
    allowed = headers.get("access-control-allow-origin")
    return "the origin echoed" if allowed == ORIGIN else "`%s`" % allowed


REQUESTS = {
    "malformed JSON": malformed_json,
    "JSON nested deeper than Python's parser allows": deep_json,
    "an integer of more than 4300 digits": huge_integer,
    "JSON sent as a form (`curl -d @sample.json`, no Content-Type)": json_as_a_form,
    "an unknown path": unknown_path,
    "another method": another_method,
    "a request while the worker's limit of connections is open, idle ones included":
        while_the_limit_is_open,
    "malformed HTTP": malformed_http,
    "CORS: a request with an Origin header": cors,
}


def test_every_row_of_the_readme_table_has_its_request_here():
    assert sorted(ROWS) == sorted(REQUESTS)


@pytest.mark.parametrize("request_name", sorted(REQUESTS))
def test_cortex_answers_as_the_readme_says(server, request_name):
    assert REQUESTS[request_name](server) == ROWS[request_name]


def test_the_stand_in_answers_the_sample_as_the_predictor_does(server):
    status, content_type, body, _ = post(server, json.dumps(sample()).encode())
    assert (status, content_type) == (200, "application/json"), body
    assert isinstance(json.loads(body.decode()), dict)
