"""The build check of `make check`: each template API's PythonPredictor, built for real.

What a static check cannot see is inside the model: its signatures, its tensors, the
names predictor.py reads, a checkpoint's data. So for every API whose other checks found
no error, whose predictor is the template's and whose model is in the project, this
builds `PythonPredictor(config)` with cortex_tools.project.build, as a Cortex worker
builds it (the runtime's loader: Cortex's class rules, cwd the project, predictor.env).

- One child process for the whole run (build_child), so TensorFlow is imported once, and
  never into the checker; each distinct (project, predictor, python_path, config) is
  built once, whichever files and APIs share it.
- A tf_session ModelError (signature missing, a tensor not in the graph with the closest
  names, a name predictor.py reads that the signature or config lacks, a checkpoint
  without its data file, not a model) is one error with tf_session's message, on the key
  it is about (model_error_key.py: `signature`, the `inputs` or `outputs` entry that names a
  tensor the graph lacks, the `inputs` or `outputs` map that lacks a name predictor.py
  reads), else on predictor.config.model; any other failure of __init__ is one on
  predictor.path, in the words Cortex would log.
- s3:// models are not downloaded, so not built: the OK line counts them.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cortex_tools import TOOLS_PYTHON

from .model_error_key import model_error_key
from .model_location import S3
from .problems import ApiScope, Result

PATH = ("predictor", "path")
CHILD = "cortex_tools.config_check.build_child"
STARTUP_S = 120.0  # importing TensorFlow once, on a slow machine
PER_BUILD_S = 120.0  # loading one model


@dataclass
class Candidate:
    """An API the build check may build: no error so far, a template predictor."""

    result: Result
    scope: ApiScope
    api: dict[str, Any]  # with defaults filled in
    where: str  # model_location.LOCAL or S3


def build_all(candidates: list[Candidate]) -> None:
    """Build every candidate with a local model (one child process); add what fails to
    its API's problems, and count what was built and what was not in each Result."""
    jobs: dict[tuple, list[Candidate]] = {}
    for candidate in candidates:
        if candidate.scope.bad:
            continue  # an API Cortex would refuse: building it says nothing more
        if candidate.where == S3:
            candidate.result.s3_not_built += 1
            continue
        jobs.setdefault(_identity(candidate), []).append(candidate)
    if not jobs:
        return
    groups = list(jobs.values())
    outcomes = _run_child([_job(group[0]) for group in groups])
    for group, outcome in zip(groups, outcomes, strict=True):
        for candidate in group:
            candidate.result.built += 1
            if outcome is not None:
                key = (model_error_key(outcome["message"], candidate.api)
                       if outcome["where"] == "model" else PATH)
                candidate.scope.error(key, outcome["message"])


def _identity(candidate: Candidate) -> tuple:
    predictor = candidate.api["predictor"]
    try:
        config = json.dumps(predictor.get("config"), sort_keys=True, default=repr)
    except TypeError:  # keys of several types: their order cannot be sorted
        config = repr(predictor.get("config"))
    return (str(candidate.result.project_dir.resolve()), predictor["path"],
            predictor.get("python_path"), config)


def _job(candidate: Candidate) -> dict[str, Any]:
    return {"config_path": str(candidate.result.path.absolute()),
            "project_dir": str(candidate.result.project_dir.resolve()),
            "api": candidate.api}


def _run_child(jobs: list[dict[str, Any]]) -> list[dict[str, str] | None]:
    """Each job's failure ({"where", "message"}) or None, in job order."""
    timeout = STARTUP_S + PER_BUILD_S * len(jobs)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    with tempfile.TemporaryDirectory(prefix="cortex-check-") as folder:
        results_file = Path(folder) / "results.jsonl"
        try:
            done = subprocess.run([sys.executable, "-m", CHILD, str(results_file)],
                                  input=pickle.dumps(jobs), capture_output=True, env=env,
                                  timeout=timeout)
            stopped = None if done.returncode == 0 else (
                f"exited with status {done.returncode}{_last_words(done.stderr)}")
        except subprocess.TimeoutExpired:
            stopped = f"was stopped after {timeout:g} s"
        found = {}
        if results_file.exists():
            for line in results_file.read_text().splitlines():
                record = json.loads(line)
                found[record["index"]] = record["error"]
    outcomes: list[dict[str, str] | None] = []
    for index in range(len(jobs)):
        if index in found:
            outcomes.append(found[index])
        else:
            outcomes.append({"where": "predictor", "message": "not built: the build process "
                             f"{stopped or 'ended without an answer'} (to check without building: "
                             f"{TOOLS_PYTHON} -m cortex_tools.config_check --no-build)"})
    return outcomes


def _last_words(stderr: bytes) -> str:
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return f"; it said: {lines[-1].strip()}" if lines else ""
