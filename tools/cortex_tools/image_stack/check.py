"""`make check`'s TensorFlow 2.1.0 model check, in the best tier this machine has.

- Image stack (.venv-image is set up): each API's predictor.py and tf_session.py run on
  the image's own Python 3.6, TensorFlow 2.1.0 and numpy 1.18.4, imported as the image
  imports them (py36/api_answers.py: the project dir first on sys.path, Cortex's own
  `cortex` package name left free), built on the main thread, then predict() from
  threads_per_worker other threads with sample.json and samples/*.json. Each answer must
  be the local runtime's (status, and JSON with numbers within TOLERANCE).
- C-API fallback (no Python 3.6 here): cortex_tools.tf21's check, each model loaded and
  run by TensorFlow 2.1.0's C library from its wheel.

The first line says which tier ran.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cortex_tools import project
from cortex_tools.bench.timing import tf_session_model
from cortex_tools.image_stack import stack
from cortex_tools.image_stack.py36.client_reads import as_client_reads
from cortex_tools.image_stack.specs import spec_json
from cortex_tools.runtime.config import ApiSpec, load_apis
from cortex_tools.runtime.errors import ConfigError

TOLERANCE = 1e-5  # numbers: relative or absolute, float32 sums in another order
TIMEOUT_S = 600
PARALLEL = 2  # image-stack processes at once


def main(configs: list[Path]) -> int:
    if not stack.is_ready():
        print(f"TF 2.1.0 model check: C-API fallback ({stack.missing_line()})", flush=True)
        from cortex_tools.tf21.__main__ import main as tf21_main

        return tf21_main(["check", *map(str, configs)])
    print(f"TF 2.1.0 model check: image stack (Python {stack.ready_version()}, "
          f"{stack.versions(str(stack.python()))} in {stack.VENV.name})", flush=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before the local TensorFlow loads
    ok, specs = True, []
    for config in configs or project.config_files(Path.cwd()):
        try:
            specs += load_apis(config)
        except ConfigError as e:
            print(f"{config}: not checked, not a valid Cortex 0.17 config ({e})")
            ok = False
    # Each API in a process of its own, as on Cortex; two at a time (their start is mostly
    # TensorFlow's import), while this process builds the local side.
    with ThreadPoolExecutor(PARALLEL) as pool:
        started = [(spec, pool.submit(image_answers, spec, project.payloads(spec.project_dir)))
                   for spec in specs]
        said: dict[str, str] = {}  # a failure's words -> the first API they were printed for
        for spec, found in started:
            passed, line = check_api(spec, found.result)
            # APIs that share a model fail with the same words: printed once, then named.
            words = line.split(": ", 1)[-1]
            if not passed and words in said:
                line = f"api {spec.name}: fails as api {said[words]} does (the same words, above)"
            elif not passed:
                said[words] = spec.name
            print(line, flush=True)
            ok = ok and passed
    return 0 if ok else 1


def check_api(spec: ApiSpec, image_found: Callable[[], dict[str, Any]]) -> tuple[bool, str]:
    """(passed, one line) for one API, given its image-stack answers when they are in."""
    what = f"api {spec.name}"
    payloads = project.payloads(spec.project_dir)
    if not payloads:
        return False, f"{what}: no {project.SAMPLE} in {spec.project_dir}: the check answers it"
    names = [p.name for p in payloads]
    try:
        local = local_answers(spec, [p.value for p in payloads])
    except Exception as e:  # the local side's own failure (PredictorError and the like)
        return False, f"{what}: cannot be checked: the local runtime fails: {_one_line(e)}"
    for name, answer in zip(names, local, strict=True):
        refused = project.refusal(name, answer.get("status"), answer.get("json",
                                                                       answer.get("text")))
        if refused:  # the local runtime's answer already: the image stack's says no more
            return False, f"{what}: {refused}"
    found = image_found()
    if "start_error" in found:
        return False, f"{what}: fails on the image stack at start: {found['start_error']}"
    if "crash" in found:
        return False, f"{what}: the image stack's process ended: {found['crash']}"
    worst = 0.0
    for name, expected, per_thread in zip(names, local, found["answers"], strict=True):
        for answer in per_thread:
            if "error" in answer:
                return False, (f"{what}: {name}: predict() raises on the image stack: "
                               f"{answer['error']}")
            diff = difference(answer, expected)
            if diff is None:
                return False, (f"{what}: {name}: the image stack answers {_shown(answer)}, "
                               f"the local runtime {_shown(expected)}")
            worst = max(worst, diff)
    shown = names[0] + (f" and {len(names) - 1} more payloads" if len(names) > 1 else "")
    return True, (f"{what}: on the image stack answers {shown} from {found['threads']} "
                  f"thread{'s' if found['threads'] > 1 else ''} as the local runtime does "
                  f"(max |diff| {worst:.1g})")


def local_answers(spec: ApiSpec, payloads: list[Any]) -> list[dict[str, Any]]:
    """Each payload answered by the local stack's predictor, on one pool thread."""
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # TF1 API deprecation notices
    predictor = project.build(spec)
    model = tf_session_model(predictor)
    if model is not None and model.batcher is not None:
        atexit.unregister(model.batcher.report)  # its line at exit says nothing here
    with project.in_project(spec), ThreadPoolExecutor(1) as pool:
        return [as_client_reads(pool.submit(predictor.predict, value).result())
                for value in payloads]


def image_answers(spec: ApiSpec, payloads: list[project.Payload]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="image-check-") as tmp:
        job, out = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job.write_text(json.dumps({"spec": spec_json(spec), "payloads": [
            {"name": p.name, "value": p.value} for p in payloads]}))
        done = stack.run_py36("api_answers.py", str(job), str(out), timeout=TIMEOUT_S)
        if done is None:
            return {"crash": f"no answer within {TIMEOUT_S} s"}
        if done.returncode != 0 or not out.is_file():
            tail = stack.last_error_line(done) or "no output"
            return {"crash": f"exit status {done.returncode}: {tail}"}
        return json.loads(out.read_text())


def difference(answer: dict[str, Any], expected: dict[str, Any]) -> float | None:
    """The largest difference of two answers' numbers, or None if they differ otherwise."""
    if answer.get("status") != expected.get("status") or ("json" in answer) != (
            "json" in expected):
        return None
    if "text" in answer:
        return 0.0 if answer["text"] == expected["text"] else None
    return _json_difference(answer["json"], expected["json"])


def _json_difference(a: Any, b: Any) -> float | None:
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return None
        parts = [_json_difference(a[k], b[k]) for k in a]
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return None
        parts = [_json_difference(x, y) for x, y in zip(a, b, strict=True)]
    elif _number(a) and _number(b):
        close = math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
        return abs(a - b) if close else None
    else:
        return 0.0 if a == b else None
    return None if None in parts else max(parts, default=0.0)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(answer: dict[str, Any]) -> str:
    text = json.dumps(answer)
    return text if len(text) <= 200 else text[:200] + "..."


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


if __name__ == "__main__":
    sys.exit(main([Path(a) for a in sys.argv[1:]]))
