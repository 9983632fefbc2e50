"""JSON payloads (json_payload.py): parsed as json.loads parses them; a large one on a
thread of its own, in many short C calls, so that the GIL can pass to the event loop."""

from __future__ import annotations

import asyncio
import json
import json.scanner
import threading

import pytest
from hypothesis import HealthCheck, given, settings

from cortex_tools.runtime import json_payload
from cortex_tools.runtime.executor import THREAD_NAME_PREFIX as PREDICT_THREADS
from cortex_tools.runtime.json_payload import (
    THREAD_NAME,
    JsonParser,
    MalformedPayload,
    SteppedDecoder,
    decode_in_steps,
)
from tests.tools import hostile


def outcome(parse, text: bytes):
    try:
        return "value", parse(text)
    except RecursionError:
        return "too deep", None
    except ValueError as e:
        return "error", f"{type(e).__name__}: {e}"


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=hostile.json_texts())
def test_the_stepped_decoder_parses_as_json_loads(text):
    """Same value, or the same error with the same message, for every text."""
    expected, got = outcome(json.loads, text), outcome(decode_in_steps, text)
    assert expected[0] == got[0], (expected, got)
    if expected[0] == "value":
        assert hostile.same_json(got[1], expected[1])
    else:
        assert got[1] == expected[1]


class CountingScanner:
    """The C scanner, counting its calls and the characters each one parsed."""

    def __init__(self) -> None:
        self._scan = json.scanner.make_scanner(json.JSONDecoder())
        self.spans: list[int] = []

    def __call__(self, text: str, index: int):
        value, end = self._scan(text, index)
        self.spans.append(end - index)
        return value, end


@pytest.mark.parametrize(("payload", "calls"), [
    ({"instances": [[5.1, 3.5, 1.4, 0.2]] * 1000}, 1000),  # each row: one C call
    ([{"a": 1, "b": [2, 3]}] * 500, 1000),  # each value of each object: one C call
])
def test_a_large_document_is_parsed_in_short_steps(payload, calls):
    scanner = CountingScanner()
    text = json.dumps(payload)
    assert SteppedDecoder(inner=scanner).decode(text) == payload
    assert len(scanner.spans) == calls
    assert max(scanner.spans) < 30  # no call parses more than one small value


def test_large_payloads_are_parsed_off_the_event_loop_small_ones_on_it(monkeypatch):
    parsed_on: list[str] = []
    real = json_payload.decode_in_steps

    def spy(body: bytes):
        parsed_on.append(threading.current_thread().name)
        return real(body)

    monkeypatch.setattr(json_payload, "decode_in_steps", spy)
    parser = JsonParser()
    large = json.dumps([[1.5, 2.5]] * 20_000).encode()  # ~240 KB
    assert len(large) > json_payload.LARGE_JSON_BYTES

    async def parse_both():
        small = await parser.parse(b'{"a": 1}')
        big = await parser.parse(large)
        return small, big, threading.current_thread().name

    try:
        small, big, loop_thread = asyncio.run(parse_both())
    finally:
        parser.shutdown()
    assert small == {"a": 1}
    assert big == [[1.5, 2.5]] * 20_000
    assert len(parsed_on) == 1  # the small one never left the loop
    assert parsed_on[0].startswith(THREAD_NAME)
    assert parsed_on[0] != loop_thread
    assert not parsed_on[0].startswith(PREDICT_THREADS)  # not a predict thread


@pytest.mark.parametrize(("body", "words"), [
    (b"[" * 5000 + b"]" * 5000, "nested too deeply"),  # inline
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),  # on the JSON thread
    (b"[" + b"1," * 10, "malformed JSON payload: Expecting value"),
    (b"[" + b"1," * 100_000, "malformed JSON payload: Expecting value"),
])
def test_parse_errors_are_client_errors(body, words):
    parser = JsonParser()
    try:
        with pytest.raises(MalformedPayload) as info:
            asyncio.run(parser.parse(body))
    finally:
        parser.shutdown()
    assert info.value.status == 400
    assert words in info.value.message
