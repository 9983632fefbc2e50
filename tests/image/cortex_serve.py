"""A stand-in for Cortex 0.17's serve.py, on the image stack: the project's predictor behind
the image's own uvicorn 0.11.5 (uvloop, httptools), FastAPI 0.54.1 and Starlette 0.13.2,
wired as serve.py wires them (shared/cortex-0.17.md, section 2; written from that
description, not from Cortex's code):

- the predictor built on the main thread, predict() run on the loop's default executor,
  a ThreadPoolExecutor(threads_per_worker) (FastAPI runs a plain route there);
- POST / parses the payload by Content-Type: multipart/form... or
  application/x-www-form-urlencoded: `await request.form()`; application/json:
  `await request.json()`, uncaught when it fails; anything else: the raw bytes;
- predict's bytes and str are sent as they are, a Response as it is, anything else
  through json.dumps; GET / answers the summary message;
- an HTTPException is its detail in plain text, any other exception a plain-text 500
  "internal server error"; CORS for every origin, method and header, with credentials;
- uvicorn's limit_concurrency is 1 + round(max_replica_concurrency / workers).

    python tests/image/cortex_serve.py API_NAME LIMIT_CONCURRENCY

prints "serving on PORT" once it listens on 127.0.0.1.
"""
import asyncio
import json
import os
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "cortex_tools" / "image_stack" / "py36"))

import image_project  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.middleware.cors import CORSMiddleware  # noqa: E402
from starlette.exceptions import HTTPException  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402

SUMMARY = "make a prediction by sending a post request to this endpoint with a json payload"
FORMS = ("multipart/form", "application/x-www-form-urlencoded")


def make_app(predictor, threads):
    app = FastAPI()
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True,
                       allow_methods=["*"], allow_headers=["*"])

    @app.on_event("startup")
    def pool():
        asyncio.get_event_loop().set_default_executor(ThreadPoolExecutor(threads))

    @app.exception_handler(HTTPException)
    async def http_error(request, error):
        return Response(content=str(error.detail), status_code=error.status_code)

    @app.exception_handler(Exception)
    async def any_error(request, error):
        return Response(content="internal server error", status_code=500)

    @app.middleware("http")
    async def parse_payload(request, call_next):
        if request.method == "POST" and request.url.path == "/":
            content_type = request.headers.get("content-type", "").lower()
            if content_type.startswith(FORMS):
                request.state.payload = await request.form()
            elif content_type.startswith("application/json"):
                request.state.payload = await request.json()
            else:
                request.state.payload = await request.body()
        return await call_next(request)

    def predict(request: Request):
        answer = predictor.predict(payload=request.state.payload)
        if isinstance(answer, bytes):
            return Response(content=answer, media_type="application/octet-stream")
        if isinstance(answer, str):
            return Response(content=answer, media_type="text/plain")
        if isinstance(answer, Response):
            return answer
        return Response(content=json.dumps(answer), media_type="application/json")

    def summary():
        return {"message": SUMMARY}

    app.add_api_route("/", predict, methods=["POST"])
    app.add_api_route("/", summary, methods=["GET"])
    return app


def main(api_name, limit_concurrency):
    specs, _ = image_project.load(ROOT)
    spec = next(s for s in specs if s.name == api_name)
    predictor = image_project.build(spec)  # on this, the main, thread
    os.chdir(str(spec.project_dir))
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    listening.listen(128)  # connections wait in the backlog until uvicorn accepts them
    print("serving on %d" % listening.getsockname()[1], flush=True)
    config = uvicorn.Config(make_app(predictor, spec.threads_per_worker), loop="auto",
                            http="auto", limit_concurrency=limit_concurrency,
                            log_level="critical")
    uvicorn.Server(config).run(sockets=[listening])


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
