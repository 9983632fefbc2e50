"""uvicorn's httptools protocol (Cortex's, through uvicorn's "auto"), with bounded heads.

What uvicorn 0.11.5 (Cortex's) and today's both lack, and this subclass adds:

- A head timeout: a connection must deliver a complete request head (request line and
  headers) within ``header_timeout`` of connecting, or of its previous answer. A socket
  that sends nothing is closed quietly at the deadline (as an idle keep-alive one is); one
  that sent part of a head (slowloris) gets 408. Neither holds anything after that. One
  timer per connection checks the deadline, which each request only moves: no timer is
  set and cancelled per request (about 3 µs each under uvloop).
- A head size limit: past ``max_head_size`` bytes of URL and headers, 431 (llhttp has no
  limit of its own: headers would pile up in memory until the timeout).
- Its own answers as JSON ``{"error": ...}`` with the parser's reason, instead of
  uvicorn's text "Invalid HTTP request received.", and an access line for each.

Everything else is uvicorn's own code; only the few hooks below are overridden.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cortex_tools.runtime.client_errors import raw_error_response
from cortex_tools.runtime.limits import Limits, format_size
from cortex_tools.runtime.logs import log_access

SEND_INSTEAD = "send an HTTP/1.1 request such as POST / with Content-Type: application/json"


class HeadTooLarge(Exception):
    """Raised from a parser callback: httptools stops and reports a callback error."""


class UpgradeWithBody(Exception):
    """A request asking to switch protocols (Upgrade, or CONNECT) that has a body: llhttp
    hands every byte after the head to the new protocol, so its body would never arrive
    (uvicorn serves it as HTTP anyway; the app would wait for the body until it times
    out). Without a body such a request is served as plain HTTP/1.1, as uvicorn does."""


class RecordingParser(httptools.HttpRequestParser):
    """httptools' parser, keeping the last error it raised for the answer to name."""

    error: Exception | None = None

    def feed_data(self, data: bytes) -> None:
        try:
            super().feed_data(data)
        except httptools.HttpParserError as e:
            self.error = e
            raise


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` with a head timeout and size limit, and JSON errors."""

    limits: ClassVar[Limits] = Limits()
    access_log_on: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parser = RecordingParser(self)
        if hasattr(self.parser, "set_dangerous_leniencies"):  # as uvicorn sets its own
            self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_due: float | None = None  # loop time the next head is due by, if owed
        self._head_started: float | None = None  # loop time of a partial head's first byte
        self._head_bytes = 0

    @classmethod
    def with_limits(cls, limits: Limits, access_log: bool) -> type[BoundedHttpToolsProtocol]:
        """A subclass bound to one worker's settings (uvicorn takes a class, not options)."""
        return type(cls.__name__, (cls,), {"limits": limits, "access_log_on": access_log})

    # -- the head timeout: a deadline while the connection owes a request head -------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._owe_head()
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._check_head)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = self.loop.time()
        self._head_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._count_head_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head_bytes(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_due = None
        self._head_started = None
        if self.parser.should_upgrade() and _has_body(self.headers):
            raise UpgradeWithBody
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        next_request_waiting = bool(self.pipeline)  # its head is complete already
        super().on_response_complete()
        if not next_request_waiting:
            self._owe_head()

    def _owe_head(self) -> None:
        self._head_due = self.loop.time() + self.limits.header_timeout

    def _check_head(self) -> None:
        """The connection's timer: act on an overdue head, else look again when the
        current deadline (or, while a request is in flight, a timeout from now) is due."""
        self._head_timer = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        due = self._head_due
        if due is not None and now >= due:
            self._head_overdue()
            return
        wait = self.limits.header_timeout if due is None else due - now
        self._head_timer = self.loop.call_later(wait, self._check_head)

    def _head_overdue(self) -> None:
        if self._head_started is None:  # not a byte of a new request: idle, just close
            self.transport.close()
            return
        seconds = f"{self.limits.header_timeout:g}"
        self._refuse(408, f"request head not complete within {seconds} s (the runtime's "
                          "--header-timeout); send the request line and headers at once")

    def _count_head_bytes(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.limits.max_head_size:
            raise HeadTooLarge  # httptools wraps it: data_received calls send_400_response

    # -- uvicorn's answer to a head it cannot parse ------------------------------------------

    def send_400_response(self, msg: str) -> None:
        error = self.parser.error if isinstance(self.parser, RecordingParser) else None
        if error is not None and isinstance(error.__context__, HeadTooLarge):
            size = format_size(self.limits.max_head_size)
            self._refuse(431, f"request head (URL and headers) larger than {size}; "
                              "send a shorter URL and fewer or shorter headers")
            return
        if error is not None and isinstance(error.__context__, UpgradeWithBody):
            self._refuse(400, "request asks to switch protocols (Upgrade or CONNECT), which "
                              "this server does not do, and has a body; send it without "
                              "Connection: upgrade")
            return
        detail = str(error) if error is not None else msg
        if isinstance(error, httptools.HttpParserCallbackError):
            detail = "request line or headers not understood"  # e.g. a non-ASCII path
        self._refuse(400, f"malformed HTTP request ({detail}); {SEND_INSTEAD}")

    def _refuse(self, status: int, reason: str) -> None:
        """Answer ``status`` with a JSON ``reason`` and close, or just close when an answer
        to an earlier request on this connection is still being written."""
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()
            return
        self.transport.write(raw_error_response(status, reason))
        self.transport.close()
        if self.access_log_on:
            started = self._head_started
            elapsed_ms = 0.0 if started is None else (self.loop.time() - started) * 1000
            log_access("-", "-", status, elapsed_ms, reason)


def _has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip(b" 0")):
            return True
    return False
