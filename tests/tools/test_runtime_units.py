"""The runtime's small rules, in-process: error messages, sizes, exit causes, restarts."""

from __future__ import annotations

import json
import signal

import pytest

from cortex_tools.runtime.__main__ import parse_args
from cortex_tools.runtime.client_errors import (
    MAX_ERROR_CHARS,
    bounded,
    error_body,
    raw_error_response,
)
from cortex_tools.runtime.limits import Limits, format_size, parse_size
from cortex_tools.runtime.logs import reason_of, short_reason
from cortex_tools.runtime.restarts import RestartPolicy, exit_cause


def test_messages_are_one_bounded_line():
    assert bounded("a\nb\r\tc\x00d\x7f") == "a b  c d "
    long = bounded("x" * 10_000)
    assert len(long) == MAX_ERROR_CHARS
    assert long.endswith("…")
    assert bounded("short") == "short"


def test_error_bodies_are_ascii_json_whatever_the_text():
    body = error_body("bad key \ud800 and \U0001f600 " + "y" * 1000)
    assert body.isascii()
    message = json.loads(body)["error"]
    assert message.startswith("bad key \ud800 and \U0001f600 ")
    assert len(message) == MAX_ERROR_CHARS


def test_a_raw_error_response_is_complete_http():
    data = raw_error_response(431, "too big")
    head, body = data.split(b"\r\n\r\n", 1)
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert b"content-length: %d" % len(body) in head
    assert b"connection: close" in head
    assert json.loads(body) == {"error": "too big"}


@pytest.mark.parametrize(("text", "size"), [
    ("4194304", 4 * 1024 * 1024), ("512K", 512 * 1024), ("4M", 4 * 1024 * 1024),
    ("4MiB", 4 * 1024 * 1024), ("4mb", 4 * 1024 * 1024), ("1G", 1024**3), ("10", 10)])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "M", "4.5M", "-1", "4 M", "lots"])
def test_sizes_refused(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_sizes_are_named_in_units():
    assert format_size(4 * 1024 * 1024) == "4 MiB"
    assert format_size(65536) == "64 KiB"
    assert format_size(1000) == "1000 bytes"


def test_the_flags_set_the_limits():
    options = parse_args(["--max-body-size", "10M", "--header-timeout", "2.5",
                          "--body-timeout", "60", "--heartbeat-timeout", "0"])
    assert options.limits == Limits(max_body_size=10 * 1024 * 1024, header_timeout=2.5,
                                    body_timeout=60)
    assert options.heartbeat_timeout == 0
    defaults = parse_args([])
    assert defaults.limits == Limits()
    assert (defaults.limits.max_body_size, defaults.heartbeat_timeout) == (4 * 1024 * 1024, 10)


@pytest.mark.parametrize("flags", [["--max-body-size", "0"], ["--header-timeout", "0"],
                                   ["--body-timeout", "nan"], ["--heartbeat-timeout", "1"],
                                   ["--header-timeout", "inf"]])
def test_flags_out_of_bounds(flags, capsys):
    with pytest.raises(SystemExit):
        parse_args(flags)
    assert "error: argument" in capsys.readouterr().err


def test_the_access_log_reason_is_the_problem_only():
    assert short_reason("malformed JSON payload: Expecting value; send one JSON document") \
        == "malformed JSON payload: Expecting value"
    assert reason_of(b'{"error": "sepal_length is missing"}', "application/json") \
        == "sepal_length is missing"
    assert reason_of(b"a teapot\n", "text/plain") == "a teapot"
    assert reason_of(b'{"no": "error key"}', "application/json") == '{"no": "error key"}'


@pytest.mark.parametrize(("code", "cause"), [
    (-signal.SIGKILL, "killed by SIGKILL"), (-signal.SIGSEGV, "killed by SIGSEGV"),
    (0, "exited with code 0"), (1, "exited with code 1"), (None, "exit status unknown")])
def test_exit_causes(code, cause):
    assert exit_cause(code) == cause


def test_the_restart_policy():
    policy = RestartPolicy()
    assert [policy.pause_before(n) for n in range(5)] == [0, 1, 2, 4, 8]
    assert RestartPolicy(max_pause_s=3).pause_before(4) == 3
    assert [policy.gives_up(n) for n in range(4)] == [False, False, False, True]
