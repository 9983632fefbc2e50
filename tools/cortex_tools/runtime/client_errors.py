"""The answers the runtime itself gives a client that sent something it cannot serve.

Every one is ``{"error": "..."}`` as JSON: what was wrong and what to send instead. Text
taken from the request (a path, a parser's message) is cut to a bounded length, and the
JSON is ASCII-only, so any text can be sent, lone surrogates included.
"""

from __future__ import annotations

import http
import json

from starlette.responses import Response

MAX_ERROR_CHARS = 300  # an error names the problem; it never echoes a whole input
ELLIPSIS = "…"

# C0 controls and DEL become spaces: an error message is one line, in JSON and in the log
_CONTROLS = {code: " " for code in (*range(0x20), 0x7F)}


def bounded(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` on one line, at most ``limit`` characters (cut with an ellipsis)."""
    text = text.translate(_CONTROLS)
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def error_body(message: str) -> bytes:
    # ensure_ascii (json's default): a lone surrogate becomes "\\ud800", never an
    # UnicodeEncodeError while the answer is written
    return json.dumps({"error": bounded(message)}).encode("ascii")


class ClientError(Exception):
    """A request the runtime refuses: ``status`` (4xx) with ``message``.

    ``close``: the connection is closed after the answer (the client is too slow to
    keep it, or what it sends next cannot be trusted to be a new request).
    """

    status = 400

    def __init__(self, message: str, status: int | None = None, close: bool = False) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.close = close

    def response(self) -> Response:
        return error_response(self.status, self.message, close=self.close)


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None, close: bool = False
) -> Response:
    """The ASGI answer ``{"error": message}``."""
    all_headers = dict(headers or {})
    if close:
        all_headers["Connection"] = "close"
    return Response(
        error_body(message), status_code=status, media_type="application/json",
        headers=all_headers,
    )


def raw_error_response(status: int, message: str) -> bytes:
    """The same answer as bytes on the wire, for errors found before any app runs (the
    request's head itself); the connection closes after it."""
    body = error_body(message)
    phrase = http.HTTPStatus(status).phrase
    head = (
        f"HTTP/1.1 {status} {phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body
