"""Stub APIs for the curl scripts' tests: they answer any JSON object without a model, so
the scripts are tested apart from the project's model and its sample.json."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

from tests.tools.serve_helpers import Server, api, running, write_project

STUB = '''
from starlette.responses import JSONResponse


class PythonPredictor:
    def __init__(self, config):
        self.answer = config.get("answer", 1.0)

    def predict(self, payload):
        if not isinstance(payload, dict):
            return JSONResponse({"error": "payload must be a JSON object"}, status_code=400)
        return {"answer": self.answer, "fields": sorted(payload)}
'''
SAMPLE = {"b": 2, "a": "x"}
GOOD_ANSWER = {"answer": 1.0, "fields": ["a", "b"]}


def write_sample(folder: Path, expected: bool = True) -> Path:
    """sample.json, and the good API's answer to it as sample.expected.json."""
    (folder / "sample.json").write_text(json.dumps(SAMPLE))
    if expected:
        (folder / "sample.expected.json").write_text(json.dumps(GOOD_ANSWER, indent=2))
    return folder / "sample.json"


@contextlib.contextmanager
def stub_apis(folder: Path) -> Iterator[dict[str, str]]:
    """name -> URL: "good" answers GOOD_ANSWER for SAMPLE; "close" answers within the smoke
    test's tolerance of it; "wrong" answers another number."""
    answers = {"good": 1.0, "close": 1.00001, "wrong": 1.5}
    config = write_project(folder, [api(name, "stub.py", config={"answer": value})
                                    for name, value in answers.items()],
                           files={"stub.py": STUB})
    servers = {name: Server(config, "--api", name) for name in answers}
    with running(servers) as started:
        yield {name: server.url for name, server in started.items()}
