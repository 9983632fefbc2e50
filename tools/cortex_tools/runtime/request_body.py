"""A request's body, read in the chunks uvicorn delivers and never past the size limit.

A declared Content-Length over the limit is refused before a byte is read (so a client
that sent ``Expect: 100-continue`` is told 413 instead of "continue"); a body without
one (chunked) is refused once the bytes read pass the limit. Either way at most the
limit plus one chunk (64 KiB, uvicorn's flow-control mark) is held. What is left of a
refused body is read and thrown away by uvicorn while the connection waits for its next
request, which the protocol's head timeout bounds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.datastructures import Headers
from starlette.types import Message, Receive

from cortex_tools.runtime.client_errors import ClientError
from cortex_tools.runtime.limits import format_size

T = TypeVar("T")


class BodyTooLarge(ClientError):
    status = 413


class BodyTimeout(ClientError):
    status = 408


def too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"payload larger than {format_size(limit)} (the runtime's --max-body-size); "
        "send a smaller payload, or start the runtime with a larger --max-body-size"
    )


def check_declared_length(headers: Headers, limit: int) -> None:
    """413 for a Content-Length over ``limit`` (the HTTP parser has checked its syntax)."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)


class LimitedReceive:
    """An ASGI ``receive`` that raises ``BodyTooLarge`` once the body passes ``limit``."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self.limit = limit
        self.received = 0

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise too_large(self.limit)
        return message


class Deadlines:
    """Bounds how long a request may take to send its body: ``run(seconds, awaitable)``
    cancels the awaiting task past its deadline and raises ``BodyTimeout`` instead.

    One timer per worker checks every deadline, and runs only while a body is being
    read, rather than a timer per request: ``asyncio.timeout`` costs about 10 µs a request
    under uvloop, a tenth of the runtime's whole cost for a small prediction. A deadline
    is so met within ``resolution`` seconds (a quarter of it, at most 1 s).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.resolution = min(1.0, seconds / 4)
        self._due: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None

    async def run(self, awaitable: Awaitable[T]) -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        self._due[task] = loop.time() + self.seconds
        if self._timer is None:
            self._timer = loop.call_later(self.resolution, self._expire, loop)
        try:
            return await awaitable
        except asyncio.CancelledError:
            if task not in self._expired:
                raise  # someone else's cancellation (a shutdown): theirs to handle
            self._expired.discard(task)
            if hasattr(task, "uncancel"):  # Python 3.11+: the cancel was ours, undo it
                task.uncancel()
            raise self.timeout_error() from None
        finally:
            self._due.pop(task, None)
            self._expired.discard(task)

    def timeout_error(self) -> BodyTimeout:
        # the connection closes: a client this slow cannot be trusted to send its next
        # request in time either
        return BodyTimeout(
            f"payload not received within {self.seconds:g} s (the runtime's --body-timeout); "
            "send the whole body at once",
            close=True,
        )

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        """Cancel what is past its deadline (each task is only ever suspended inside
        ``run`` while it is listed, so the CancelledError arrives there)."""
        self._timer = None
        now = loop.time()
        for task, due in list(self._due.items()):
            if due <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        if self._due:
            self._timer = loop.call_later(self.resolution, self._expire, loop)
