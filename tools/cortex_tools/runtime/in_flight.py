"""503 once a worker answers as many requests as Cortex lets it: requests, not connections.

Cortex 0.17 gives each worker's uvicorn ``limit_concurrency`` = 1 + round(max_replica_
concurrency / workers_per_replica). uvicorn (0.11.5 there, and still today) answers 503
when the open *connections*, the one asking included, reach it, or when its request
*tasks* do. So round(max / workers) requests may be in flight, one per connection, and
the next gets 503: Cortex's effective limit, which this middleware keeps.

What it does not keep is what uvicorn counts. Idle keep-alive connections and sockets
that never sent a byte count as connections, and a finished request's task counts until
its done-callback runs, one loop turn after the answer went out; so locally 64 idle
sockets made every client get 503, and 40 busy keep-alive clients did at a limit of 65.
On a cluster the load balancer in front of a replica hides that (it holds the client
connections); here clients connect directly. So uvicorn's limit is off and this counts
the requests being answered: from the app's first step to the last byte of its answer.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cortex_tools.runtime.client_errors import error_response


class InFlightLimit:
    """Answers 503 (JSON) to a request arriving while ``max_in_flight`` are in flight."""

    def __init__(self, app: ASGIApp, max_in_flight: int) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0  # only the event loop's thread touches it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            # Connection: close, as uvicorn's own 503: the client comes back on a new one
            await error_response(503, self.busy_message(), close=True)(scope, receive, send)
            return

        self.in_flight += 1
        released = False

        async def send_and_release(message: Message) -> None:
            nonlocal released
            # Released before the last byte is written: the client can only send its next
            # request once it has the answer, and must then find this one's slot free.
            if not released and message["type"] == "http.response.body" and not message.get(
                "more_body"
            ):
                released = True
                self.in_flight -= 1
            await send(message)

        try:
            await self.app(scope, receive, send_and_release)
        finally:
            if not released:  # the app failed or returned without a complete answer
                self.in_flight -= 1

    def busy_message(self) -> str:
        return (
            f"this worker is answering {self.max_in_flight} requests already, its limit "
            "(max_replica_concurrency / workers_per_replica); retry later, or raise "
            "autoscaling.max_replica_concurrency"
        )
