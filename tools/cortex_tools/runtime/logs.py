"""Server logs: one format for the runtime's own lines, and one access line per request.

Everything goes to stdout, as Cortex's log_config.yaml sends its loggers there; a user's
own ``print`` and ``logging`` calls are left as they are.
"""

from __future__ import annotations

import logging
import sys
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER_NAME = "cortex_local"
FORMAT = "%(asctime)s.%(msecs)03d pid-%(process)d %(levelname)s %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

log = logging.getLogger(LOGGER_NAME)
access_log = logging.getLogger(LOGGER_NAME + ".access")


def configure() -> None:
    """Our loggers and uvicorn's to stdout, in one format (idempotent)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
    # uvicorn's INFO lines (started/finished, once per worker) would only repeat ours;
    # its warnings and errors ("Exceeded concurrency limit.", a crashed app) stay.
    for name, level in ((LOGGER_NAME, logging.INFO), ("uvicorn.error", logging.WARNING)):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


class AccessLog:
    """Logs ``METHOD PATH STATUS N.Nms`` once a response is complete.

    Pure ASGI (not BaseHTTPMiddleware) to keep the per-request cost to a timer and one
    line. It wraps the whole app, so a crash answered by Starlette's ServerErrorMiddleware
    still gets its line. uvicorn answers 503 itself, before the app; it logs those as
    "Exceeded concurrency limit.".
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        start = time.perf_counter()
        status = 500  # what the client gets if the app fails before it answers

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            elapsed_ms = (time.perf_counter() - start) * 1000
            access_log.info(
                "%s %s %d %.1fms", scope["method"], scope["path"], status, elapsed_ms
            )
