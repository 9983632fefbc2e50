"""JSON payloads parsed as Cortex parses them (``json.loads``), without stalling the server.

A small body is parsed on the event loop: that costs less than a hand-off to a thread.
A large one is parsed on a thread of its own (never the predict pool, whose threads
belong to ``predict``). A thread alone does not free the event loop, though: CPython's C
parser holds the GIL for a whole document (a 4 MiB body kept the loop's thread waiting
110 ms here). So a large body is parsed in steps: the outer two levels of arrays and
objects in Python, each value inside them by the C parser. Between steps the GIL can
pass to the loop, which then waits at most a few ms, for the price of a slower parse
(about 1.5x for rows of numbers, 3x for arrays of small objects).

Failures are the client's: malformed JSON, text that is not UTF-8/16/32, numbers past
Python's 4300-digit limit, and nesting deeper than the parser's recursion allows (about
1000 levels) are a 400 that says so. (Cortex 0.17 lets each of them escape: a 500.)
"""

from __future__ import annotations

import asyncio
import json
import json.decoder
import json.scanner
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cortex_tools.runtime.client_errors import ClientError

LARGE_JSON_BYTES = 64 * 1024  # parsed on the loop up to here: about 1 ms
PYTHON_LEVELS = 2  # outer levels parsed in Python, so the GIL can switch between values
THREAD_NAME = "json-parse"
SEND_INSTEAD = "send one JSON document (UTF-8) with Content-Type: application/json"

Scanner = Callable[[str, int], tuple[Any, int]]
# Python's ValueError for an integer past sys.get_int_max_str_digits() (3.11+).
TOO_MANY_DIGITS = re.compile(r"Exceeds the limit \((\d+) digits\).*?value has (\d+) digits")


class MalformedPayload(ClientError):
    """The body is not the JSON its Content-Type says it is."""


class SteppedDecoder(json.JSONDecoder):
    """``json.JSONDecoder`` whose outer ``levels`` of containers are parsed by Python code
    (``json.decoder``'s own JSONObject and JSONArray, as its pure-Python scanner does) and
    every value within them by the C scanner: the same result, in many short C calls."""

    def __init__(self, levels: int = PYTHON_LEVELS, inner: Scanner | None = None) -> None:
        super().__init__()
        # C when available, as json.loads; ``inner`` lets a test count the C calls
        c_scanner = inner or json.scanner.make_scanner(self)
        self.scan_once = self._scanner(levels, c_scanner)

    def _scanner(self, levels: int, c_scanner: Scanner) -> Scanner:
        if levels == 0:
            return c_scanner
        inner = self._scanner(levels - 1, c_scanner)

        def scan_once(text: str, index: int) -> tuple[Any, int]:
            char = text[index : index + 1]
            if char == "{":
                # memo None: a fresh key memo per object, none kept between payloads
                return json.decoder.JSONObject(
                    (text, index + 1), self.strict, inner, self.object_hook,
                    self.object_pairs_hook, None)
            if char == "[":
                return json.decoder.JSONArray((text, index + 1), inner)
            return c_scanner(text, index)  # a scalar, or the C scanner's own error

        return scan_once


_STEPPED = SteppedDecoder()


def decode_in_steps(body: bytes) -> Any:
    """``json.loads(body)``, parsed by ``SteppedDecoder``. Raises what json.loads raises."""
    # json.loads does this for bytes: detect UTF-8/16/32, keep lone surrogates escaped
    text = body.decode(json.detect_encoding(body), "surrogatepass")
    return _STEPPED.decode(text)


class JsonParser:
    """Parses payloads for one worker: small ones inline, large ones on its own thread."""

    def __init__(self, large: int = LARGE_JSON_BYTES) -> None:
        self.large = large
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_NAME)

    async def parse(self, body: bytes) -> Any:
        try:
            if len(body) <= self.large:
                return json.loads(body)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, decode_in_steps, body)
        except RecursionError:
            raise MalformedPayload(
                "JSON payload nested too deeply (Python's parser stops near 1000 levels); "
                "send a flatter JSON document (UTF-8) with Content-Type: application/json"
            ) from None
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, too many digits
            digits = TOO_MANY_DIGITS.search(str(e))
            if digits:  # Python's words would tell the client to change the server
                raise MalformedPayload(
                    f"JSON payload holds an integer of {digits.group(2)} digits, more than "
                    f"the {digits.group(1)} this server's parser reads; send fewer digits"
                ) from None
            raise MalformedPayload(f"malformed JSON payload: {e}; {SEND_INSTEAD}") from None

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
