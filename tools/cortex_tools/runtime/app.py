"""The ASGI app of one API, behaving as Cortex 0.17's serve.py does (contract section 2).

- ``POST`` predicts and ``GET`` answers a summary, on ``/`` (Cortex's local routes) and on
  ``/predict`` (where a cluster's gateway sends ``/<endpoint>``).
- The payload is read by Content-Type (``payload.py``), and only when ``predict`` names
  ``payload``; ``query_params`` and ``headers`` are passed when named.
- ``predict`` runs on the predict pool, never on the event loop's thread, never on the
  thread that built the predictor. Its return value becomes a response there too, as
  Cortex's sync route did: bytes, str, a Starlette Response as is, else JSON.
- Errors: what the runtime refuses itself (malformed JSON or form, a body too large or
  too slow, an unknown path or method, too many requests in flight) is a 4xx or 503 with
  JSON ``{"error": ...}`` saying what to send instead. Cortex answers malformed JSON with
  500 and the others in plain text: we do better. An exception in ``predict`` is a 500
  ``internal server error`` with the traceback in the server log only, as on Cortex.
- CORS: every origin, method and header, as Cortex configures it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from cortex_tools.image_stack.py36.cortex_response import to_response
from cortex_tools.runtime.client_errors import ClientError, error_response
from cortex_tools.runtime.executor import PredictPool
from cortex_tools.runtime.in_flight import InFlightLimit
from cortex_tools.runtime.json_payload import JsonParser
from cortex_tools.runtime.limits import Limits
from cortex_tools.runtime.logs import AccessLog, log
from cortex_tools.runtime.payload import PayloadReader
from cortex_tools.runtime.predictor_loader import predict_arg_names

SUMMARY_MESSAGE = "make a prediction by sending a post request to this endpoint with a json payload"
ROUTES = ("/", "/predict")
INTERNAL_ERROR = "internal server error"
RETURN_HINT = (
    "please return an object that is JSON serializable (including its nested fields), "
    "a bytes object, a string, or a starlette.response.Response object"
)
WHAT_TO_SEND = "POST a payload to / or /predict (GET there answers a summary)"


class CortexCORSMiddleware(CORSMiddleware):
    """Starlette's CORS as Cortex 0.17's Starlette (0.13) applied it: a request without an
    Origin header is not a CORS request and passes through untouched. Newer Starlette adds
    ``Vary: Origin`` to every response, at a cost on every request."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(name == b"origin" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def internal_error() -> Response:
    return PlainTextResponse(INTERNAL_ERROR, status_code=500)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no route: 404, a method the route lacks: 405) as JSON
    that says what to send; Cortex's FastAPI answers "Not Found" in plain text."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"no route {request.url.path}: {WHAT_TO_SEND}"
    elif exc.status_code == 405:
        message = f"method {request.method} not allowed on {request.url.path}: {WHAT_TO_SEND}"
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, message, headers=dict(exc.headers or {}))


class PredictRoute:
    """The endpoint behind every route: GET -> summary, POST -> prediction."""

    def __init__(self, predictor: Any, pool: PredictPool, payloads: PayloadReader) -> None:
        self.predictor = predictor
        self.pool = pool
        self.payloads = payloads
        self.arg_names = predict_arg_names(predictor)

    async def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return JSONResponse({"message": SUMMARY_MESSAGE})

        kwargs: dict[str, Any] = {}
        if "payload" in self.arg_names:
            request = self.payloads.bounded(request)
            try:
                kwargs["payload"] = await self.payloads.read(request)
            except ClientError as e:
                await request.close()
                return e.response()
        if "query_params" in self.arg_names:
            kwargs["query_params"] = request.query_params
        if "headers" in self.arg_names:
            kwargs["headers"] = request.headers

        try:
            return await self.pool.run(lambda: self._predict(kwargs))
        finally:
            await request.close()  # releases a form's uploaded files, as Starlette would

    def _predict(self, kwargs: dict[str, Any]) -> Response:
        """On a pool thread: ``predict``, then the conversion, each failure logged."""
        try:
            prediction = self.predictor.predict(**kwargs)
        except Exception:
            log.exception("exception in predict")
            return internal_error()
        try:
            return to_response(prediction)
        except Exception as e:
            log.error("predict returned %s: %s; %s", type(prediction).__name__, e, RETURN_HINT)
            return internal_error()


def build_app(
    predictor: Any,
    pool: PredictPool,
    access_log: bool = True,
    limits: Limits | None = None,
    max_in_flight: int | None = None,
) -> ASGIApp:
    """The app of one worker; ``predictor`` is built, ``pool`` runs its predict calls.
    ``max_in_flight`` requests at once, more get 503 (None: no limit)."""
    json_parser = JsonParser()
    route = PredictRoute(predictor, pool, PayloadReader(limits or Limits(), json_parser))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool.install_as_default(asyncio.get_running_loop())
        yield
        pool.shutdown(wait=False)
        json_parser.shutdown()

    async def uncaught(request: Request, exc: Exception) -> Response:
        return internal_error()  # ServerErrorMiddleware logs the traceback

    app: ASGIApp = Starlette(
        routes=[Route(path, route.handle, methods=["GET", "POST"]) for path in ROUTES],
        middleware=[
            Middleware(
                CortexCORSMiddleware,
                allow_origins=["*"],
                allow_credentials=True,
                allow_methods=["*"],
                allow_headers=["*"],
            )
        ],
        exception_handlers={HTTPException: http_error, Exception: uncaught},
        lifespan=lifespan,
    )
    if max_in_flight is not None:
        app = InFlightLimit(app, max_in_flight)
    return AccessLog(app) if access_log else app
