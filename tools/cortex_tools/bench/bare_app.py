#!/usr/bin/env python3
"""The bare ASGI floor: a raw ASGI app (no framework) on the runtime's own uvicorn.

It reads the body and answers the same small JSON as the no-op predictor. Served as the
runtime serves a worker (one process, uvicorn's default protocol and loop, no access
log, a TCP socket bound by us as scripts/cortex_local/server.py binds it), so the
difference between the two floors is the runtime's own layers. Prints
``serving bare ASGI at URL`` once it accepts connections.
"""

from __future__ import annotations

import socket
import sys

import uvicorn

BODY = b'{"label": "noop"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict, receive, send) -> None:  # noqa: ANN001 (ASGI callables)
    if scope["type"] != "http":
        return  # lifespan is off; nothing else arrives
    more = True
    while more:  # read the whole request body, as a predictor's payload would be read
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


class _AnnouncingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, url: str) -> None:
        super().__init__(config)
        self.url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(f"serving bare ASGI at {self.url}", flush=True)


def main(host: str = "127.0.0.1") -> int:
    # IPPROTO_TCP as in the runtime: asyncio then turns Nagle off on accepted sockets.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(1124)  # the runtime's backlog: max_replica_concurrency 1024 + 100
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", access_log=False, log_level="warning",
                            limit_concurrency=1025)  # as a runtime worker (1 + 1024)
    _AnnouncingServer(config, f"http://{host}:{port}").run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
