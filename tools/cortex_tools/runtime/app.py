"""The ASGI app of one API, behaving as Cortex 0.17's serve.py does (contract section 2).

- ``POST`` predicts and ``GET`` answers a summary, on ``/`` (Cortex's local routes) and on
  ``/predict`` (where a cluster's gateway sends ``/<endpoint>``).
- The payload is read by Content-Type, and only when ``predict`` names ``payload``;
  ``query_params`` and ``headers`` are passed when named.
- ``predict`` runs on the predict pool, never on the event loop's thread, never on the
  thread that built the predictor. Its return value becomes a response there too, as
  Cortex's sync route did: bytes, str, a Starlette Response as is, else JSON.
- Errors: malformed JSON is a 400 with a JSON message (Cortex answers 500: we do better);
  an exception in ``predict`` is a 500 ``internal server error`` with the traceback in
  the server log only. uvicorn's ``limit_concurrency`` answers 503 before the app.
- CORS: every origin, method and header, as Cortex configures it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from cortex_tools.runtime.executor import PredictPool
from cortex_tools.runtime.logs import AccessLog, log
from cortex_tools.runtime.predictor_loader import predict_arg_names

SUMMARY_MESSAGE = "make a prediction by sending a post request to this endpoint with a json payload"
ROUTES = ("/", "/predict")
INTERNAL_ERROR = "internal server error"
RETURN_HINT = (
    "please return an object that is JSON serializable (including its nested fields), "
    "a bytes object, a string, or a starlette.response.Response object"
)


class MalformedPayload(Exception):
    """The body does not parse as its Content-Type says it should."""


async def read_payload(request: Request) -> Any:
    """The payload as Cortex reads it: JSON, form data, or the raw bytes."""
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(("multipart/form", "application/x-www-form-urlencoded")):
        try:
            return await request.form()
        except AssertionError as e:  # Starlette's way of saying python-multipart is missing
            raise RuntimeError(f"{e} (Cortex's image has it: pip install python-multipart)") from e
    body = await request.body()
    if content_type.startswith("application/json"):
        try:
            return json.loads(body)
        except ValueError as e:  # JSONDecodeError, or a body that is not UTF-8/16/32
            raise MalformedPayload(f"malformed JSON payload: {e}") from e
    return body


def to_response(prediction: Any) -> Response:
    """``predict``'s return value as Cortex sends it. Raises if it is not JSON-able."""
    if isinstance(prediction, bytes):
        return Response(content=prediction, media_type="application/octet-stream")
    if isinstance(prediction, str):
        return Response(content=prediction, media_type="text/plain")
    if isinstance(prediction, Response):
        return prediction
    return Response(content=json.dumps(prediction), media_type="application/json")


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


class PredictRoute:
    """The endpoint behind every route: GET -> summary, POST -> prediction."""

    def __init__(self, predictor: Any, pool: PredictPool) -> None:
        self.predictor = predictor
        self.pool = pool
        self.arg_names = predict_arg_names(predictor)

    async def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return JSONResponse({"message": SUMMARY_MESSAGE})

        kwargs: dict[str, Any] = {}
        if "payload" in self.arg_names:
            try:
                kwargs["payload"] = await read_payload(request)
            except MalformedPayload as e:
                return JSONResponse({"error": str(e)}, status_code=400)
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


def build_app(predictor: Any, pool: PredictPool, access_log: bool = True) -> ASGIApp:
    """The app of one worker; ``predictor`` is built, ``pool`` runs its predict calls."""
    route = PredictRoute(predictor, pool)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool.install_as_default(asyncio.get_running_loop())
        yield
        pool.shutdown(wait=False)

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
        exception_handlers={Exception: uncaught},
        lifespan=lifespan,
    )
    return AccessLog(app) if access_log else app
