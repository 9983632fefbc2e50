"""Server logs: one format for the runtime's own lines, and one access line per request.

Everything goes to stdout, as Cortex's log_config.yaml sends its loggers there; a user's
own ``print`` and ``logging`` calls are left as they are.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cortex_tools.runtime.client_errors import bounded

LOGGER_NAME = "cortex_local"
FORMAT = "%(asctime)s.%(msecs)03d pid-%(process)d %(levelname)s %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_REASON_CHARS = 160  # the reason on an access line: one short line
MAX_PATH_CHARS = 200
MAX_SNIFFED_BYTES = 4096  # of an error answer's body, to find its reason

log = logging.getLogger(LOGGER_NAME)
access_log = logging.getLogger(LOGGER_NAME + ".access")

# uvicorn's own lines for a request its parser rejects (the protocol logs an access line
# with the parser's reason instead: protocol.py), and for an Upgrade header it ignores
# (the request is served as plain HTTP and gets its access line; its advice to install a
# WebSocket library does not apply to an API)
_REPLACED_UVICORN_LINES = ("Invalid HTTP request received.", "Unsupported upgrade request.",
                           "No supported WebSocket library detected.")


class _DropReplaced(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_REPLACED_UVICORN_LINES)


def say(line: str, stream: TextIO | None = None) -> None:
    """Print ``line`` to ``stream`` (stdout) in one write. The workers share the server's
    stdout, and print() writes the text and its newline apart: unbuffered (PYTHONUNBUFFERED,
    as CI and Docker often set), a worker's line could land between the two."""
    stream = sys.stdout if stream is None else stream
    stream.write(line + "\n")
    stream.flush()


def configure() -> None:
    """Our loggers and uvicorn's to stdout, in one format (idempotent)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
    # uvicorn's INFO lines (started/finished, once per worker) would only repeat ours;
    # its warnings and errors (a crashed app) stay.
    for name, level in ((LOGGER_NAME, logging.INFO), ("uvicorn.error", logging.WARNING)):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    uvicorn_error = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropReplaced) for f in uvicorn_error.filters):
        uvicorn_error.addFilter(_DropReplaced())


def log_access(method: str, path: str, status: int, elapsed_ms: float, reason: str = "") -> None:
    """``METHOD PATH STATUS N.Nms``, and ``: reason`` for an error answer. The path is the
    client's (percent-decoded: it may hold a newline), so it is kept to one short line."""
    path = bounded(path, MAX_PATH_CHARS)
    if reason:
        access_log.info("%s %s %d %.1fms: %s", method, path, status, elapsed_ms,
                        short_reason(reason))
    else:
        access_log.info("%s %s %d %.1fms", method, path, status, elapsed_ms)


def short_reason(message: str) -> str:
    """The problem an error message names, without what it tells the client to send
    instead (the runtime's messages put that after "; "), on one short line."""
    return bounded(message.split("; ", 1)[0], MAX_REASON_CHARS)


def reason_of(body: bytes, content_type: str) -> str:
    """Why an error answer was sent: its JSON ``error`` (the runtime's and the template's
    own 4xx), else the start of its text."""
    if content_type.startswith("application/json"):
        try:
            error = json.loads(body).get("error")
        except (ValueError, AttributeError):
            error = None
        if isinstance(error, str):
            return error
    return body.decode("utf-8", "replace").strip()


class AccessLog:
    """Logs ``METHOD PATH STATUS N.Nms`` once a response is complete, with the reason of an
    error answer (4xx, 5xx) after a colon.

    Pure ASGI (not BaseHTTPMiddleware) to keep the per-request cost to a timer and one
    line; only error answers have their body looked at. It wraps the whole app, so a crash
    answered by Starlette's ServerErrorMiddleware still gets its line. Requests refused
    before the app (a malformed head, a head timeout) get theirs from the protocol.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        start = time.perf_counter()
        status = 500  # what the client gets if the app fails before it answers
        content_type = ""
        error_body = bytearray()

        async def send_and_note_status(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                if status >= 400:
                    for name, value in message.get("headers", ()):
                        if name.lower() == b"content-type":
                            content_type = value.decode("latin-1").lower()
            elif status >= 400 and len(error_body) < MAX_SNIFFED_BYTES:
                error_body.extend(message.get("body", b"")[:MAX_SNIFFED_BYTES])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            elapsed_ms = (time.perf_counter() - start) * 1000
            reason = reason_of(bytes(error_body), content_type) if status >= 400 else ""
            log_access(scope["method"], scope["path"], status, elapsed_ms, reason)
