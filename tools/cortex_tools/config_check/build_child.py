"""The child process of the build check (build.py): builds APIs' predictors, reports each.

    python -m cortex_tools.config_check.build_child RESULTS_FILE < jobs.pickle

Each predictor built then answers the project's sample.json, as a worker would answer
it: an exception or a 5xx answer fails the API with the predictor's own error (such an
API starts, then answers that request 500), and a 4xx answer says that sample.json is not
a payload the API accepts, in the API's words (sample.json is one it answers: README).

stdin is a pickled list of jobs, {"config_path", "project_dir", "api"} (the API with its
defaults filled in). For each job, in order, one JSON line is appended to RESULTS_FILE as
soon as it is known: {"index": i, "error": null | {"where": "model" | "predictor",
"message": ...}}. So a crash or a hang costs only the builds after it, and whatever the
predictor or TensorFlow prints cannot mix with the results.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any

from cortex_tools import TOOLS_PYTHON

MODEL_ERROR = ("tf_session", "ModelError")  # (module, class) of the machinery's error
PREDICTOR_MODULE = "cortex_predictor"  # the name Cortex loads predictor.py as


def main(argv: list[str]) -> int:
    results_file = Path(argv[1])
    jobs = pickle.load(sys.stdin.buffer)
    try:
        import tensorflow  # noqa: F401  once, for every build after it
    except Exception as e:
        setup = {"where": "predictor", "message": f"not built: TensorFlow cannot be imported "
                 f"here ({type(e).__name__}: {e}); make check builds each predictor with "
                 f"the local TensorFlow ({TOOLS_PYTHON} -m pip install -r requirements-dev."
                 f"txt; to check without building: {TOOLS_PYTHON} -m cortex_tools.config_check"
                 " --no-build)"}
        _write(results_file, [(i, setup) for i in range(len(jobs))])
        return 0
    for index, job in enumerate(jobs):
        _write(results_file, [(index, _build(job))])
    return 0


def _build(job: dict[str, Any]) -> dict[str, str] | None:
    from cortex_tools.project import build
    from cortex_tools.runtime.config import _to_spec
    from cortex_tools.runtime.errors import PredictorError

    project_dir = Path(job["project_dir"])
    spec = _to_spec(job["api"], Path(job["config_path"]), project_dir, [])
    before = set(sys.modules)
    try:
        predictor = build(spec)
    except PredictorError as e:
        _forget_modules(before, [project_dir, spec.python_path])
        cause = e.__cause__
        if cause is not None and (type(cause).__module__, type(cause).__name__) == MODEL_ERROR:
            return {"where": "model", "message": f"PythonPredictor(config) raised ModelError: "
                    f"{cause}"}
        return {"where": "predictor", "message": f"PythonPredictor(config) failed: {e}"}
    except Exception as e:  # the tools' own failure, not the predictor's
        _forget_modules(before, [project_dir, spec.python_path])
        return {"where": "predictor", "message": f"not built: {type(e).__name__}: {e}"}
    try:
        return _answer_sample(spec, predictor)
    finally:
        _forget_modules(before, [project_dir, spec.python_path])
        del predictor  # its graph and session: the next build starts from nothing
        gc.collect()


def _answer_sample(spec, predictor) -> dict[str, str] | None:
    """predict(sample.json) as a worker runs it: an exception or a 5xx answer (what Cortex
    would send every such request) is the API's error, in the predictor's own words."""
    from cortex_tools import project
    from cortex_tools.runtime.predictor_loader import predict_arg_names
    from cortex_tools.tf_errors import whole_cause

    sample = Path(spec.project_dir) / project.SAMPLE
    if not sample.is_file():
        return None
    try:
        payload = json.loads(sample.read_text())
    except ValueError as e:
        return {"where": "predictor", "message": f"{project.SAMPLE} is not JSON: {e}"}
    offered = {"payload": payload, "query_params": {}, "headers": {
        "content-type": "application/json"}}
    args = {name: offered[name] for name in predict_arg_names(predictor)}
    try:
        with project.in_project(spec):
            answer = predictor.predict(**args)
    except Exception as e:
        return {"where": "predictor", "message": f"predict({project.SAMPLE}) raised "
                f"{whole_cause(e)} (Cortex answers such a request 500)"}
    refused = project.refusal_of(project.SAMPLE, answer)
    if refused:
        return {"where": "predictor", "message": refused}
    status = getattr(answer, "status_code", 200)
    if isinstance(status, int) and status >= 500:
        body = getattr(answer, "body", b"")
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        return {"where": "predictor", "message": f"predict({project.SAMPLE}) answered "
                f"{status}: {text[:500]}"}
    return None


def _forget_modules(before: set[str], folders: list[Path | None]) -> None:
    """Drop the modules this build imported from the project (tf_session, the user's
    own), so that the next project imports its own files of the same names. Installed
    packages stay, even when the project folder holds the virtualenv."""
    installed = {os.path.abspath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    roots = [os.path.abspath(f) for f in folders if f is not None]
    for name in set(sys.modules) - before:
        file = getattr(sys.modules[name], "__file__", None) or ""
        file = os.path.abspath(file) if file else ""
        inside = any(file.startswith(root + os.sep) for root in roots)
        if name == PREDICTOR_MODULE or (inside and not any(
                file.startswith(prefix + os.sep) for prefix in installed)):
            del sys.modules[name]


def _write(results_file: Path, records: list[tuple[int, dict[str, str] | None]]) -> None:
    with results_file.open("a", encoding="utf-8") as out:
        for index, error in records:
            out.write(json.dumps({"index": index, "error": error}) + "\n")


if __name__ == "__main__":
    # Whatever the predictor or TensorFlow prints goes to stderr, kept by the parent.
    os.dup2(2, 1)
    sys.exit(main(sys.argv))
