"""A stand-in for Cortex 0.17's serve.py, on the image stack: the project's predictor behind
the image's own uvicorn 0.11.5 (uvloop, httptools), FastAPI 0.54.1 and Starlette 0.13.2,
wired as serve.py wires them (shared/cortex-0.17.md, section 2; written from that
description and checked against v0.17.1's serve.py for what costs time per request, none
of its code copied). `make bench` serves a no-op predictor with it, to measure how much
faster the project's runtime serves than a replica would; tests/image/test_cortex_answers.py
checks what it answers.

- the predictor built on the main thread, predict() run on the loop's default executor,
  a ThreadPoolExecutor(threads_per_worker) (FastAPI runs a plain route there);
- POST / parses the payload by Content-Type: multipart/form... or
  application/x-www-form-urlencoded: `await request.form()`; application/json:
  `await request.json()`, uncaught when it fails; anything else: the raw bytes;
- predict's bytes and str are sent as they are, a Response as it is, anything else
  through json.dumps; GET / answers the summary message;
- an HTTPException is its detail in plain text, any other exception a plain-text 500
  "internal server error"; CORS for every origin, method and header, with credentials;
- uvicorn's limit_concurrency is 1 + round(max_replica_concurrency / workers);
- two per-request middlewares, as serve.py has: the payload's parsing (above), and before
  it the request's bookkeeping as on a cluster: its start time, a file per prediction
  request in a requests folder while it runs (what the replica's liveness counts), and
  four metrics per answer (status code and latency, each with and without the API's ids)
  sent as statsd datagrams over UDP (here to a socket of this process that never reads);
- predict's arguments picked by name per request, a BackgroundTasks made per request.

    python cortex_serve.py API_NAME LIMIT_CONCURRENCY [PROJECT_DIR [CONFIG_FILE]]

serves API_NAME of PROJECT_DIR (default: the template's own), as CONFIG_FILE there has it
when given (else its first config file that has it), and prints "serving on PORT" once it
listens on 127.0.0.1.
"""
import asyncio
import contextlib
import inspect
import os
import socket
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import image_project
import uvicorn
from cortex_response import to_response
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.background import BackgroundTasks
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

ROOT = image_project.TEMPLATE_ROOT

SUMMARY = "make a prediction by sending a post request to this endpoint with a json payload"
FORMS = ("multipart/form", "application/x-www-form-urlencoded")


class Bookkeeping:
    """What a replica does around each prediction request besides predicting: a file in a
    requests folder while it runs, and its metrics as statsd datagrams."""

    def __init__(self, api_name):
        self.folder = tempfile.mkdtemp(prefix="cortex-requests-")
        self.sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # never read: the
        self.sink.bind(("127.0.0.1", 0))  # kernel drops what its buffer cannot hold
        self.statsd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.address = self.sink.getsockname()
        self.ids = [{"Name": "api_name", "Value": api_name},
                    {"Name": "api_id", "Value": uuid.uuid4().hex},
                    {"Name": "predictor_id", "Value": uuid.uuid4().hex},
                    {"Name": "deployment_id", "Value": uuid.uuid4().hex}]

    def request_file(self, request):
        name = request.headers.get("x-request-id") or str(uuid.uuid1())
        path = os.path.join(self.folder, name)
        open(path, "a").close()
        return path

    def metrics(self, status_code, seconds):
        for dimensions in (self.ids[:1], self.ids):
            tags = ",".join("%s:%s" % (d["Name"], d["Value"]) for d in dimensions)
            for line in ("StatusCode%dXX:1|c|#%s" % (status_code // 100, tags),
                         "Latency:%f|d|#%s" % (seconds * 1000, tags)):
                with contextlib.suppress(OSError):  # a lost metric costs a replica nothing
                    self.statsd.sendto(line.encode(), self.address)


def make_app(predictor, threads, api_name="api"):
    app = FastAPI()
    books = Bookkeeping(api_name)
    predict_args = inspect.getfullargspec(predictor.predict).args
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

    def is_prediction(request):
        return request.method == "POST" and request.url.path == "/"

    # In serve.py's order: the middleware added last runs outermost (Starlette), so the
    # payload is parsed before the bookkeeping starts its clock.
    @app.middleware("http")
    async def bookkeeping(request, call_next):
        request.state.start_time = time.time()
        path, response = None, None
        try:
            if is_prediction(request):
                path = books.request_file(request)
            response = await call_next(request)
        finally:
            if path is not None:
                with contextlib.suppress(OSError):
                    os.remove(path)
            if is_prediction(request):
                books.metrics(response.status_code if response is not None else 500,
                              time.time() - request.state.start_time)
        return response

    @app.middleware("http")
    async def parse_payload(request, call_next):
        if is_prediction(request) and "payload" in predict_args:
            content_type = request.headers.get("content-type", "").lower()
            if content_type.startswith(FORMS):
                request.state.payload = await request.form()
            elif content_type.startswith("application/json"):
                request.state.payload = await request.json()
            else:
                request.state.payload = await request.body()
        return await call_next(request)

    def predict(request: Request):
        BackgroundTasks()  # serve.py makes one per request (monitoring's uploads)
        kwargs = {}
        if "payload" in predict_args:
            kwargs["payload"] = request.state.payload
        if "headers" in predict_args:
            kwargs["headers"] = request.headers
        if "query_params" in predict_args:
            kwargs["query_params"] = request.query_params
        return to_response(predictor.predict(**kwargs))

    def summary():
        return {"message": SUMMARY}

    app.add_api_route("/", predict, methods=["POST"])
    app.add_api_route("/", summary, methods=["GET"])
    return app


def main(api_name, limit_concurrency, project_dir=ROOT, config_file=None):
    specs, _ = image_project.load(project_dir)
    spec = next(s for s in specs if s.name == api_name and
                config_file in (None, os.path.basename(s.config_path)))
    predictor = image_project.build(spec)  # on this, the main, thread
    os.chdir(str(spec.project_dir))
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    listening.listen(128)  # connections wait in the backlog until uvicorn accepts them
    print("serving on %d" % listening.getsockname()[1], flush=True)
    config = uvicorn.Config(make_app(predictor, spec.threads_per_worker, api_name), loop="auto",
                            http="auto", limit_concurrency=limit_concurrency,
                            log_level="critical")
    uvicorn.Server(config).run(sockets=[listening])


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:5])
