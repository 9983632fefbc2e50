"""Checks Cortex cannot make, because they depend on what this template's predictor needs.

- `predictor.config` is what predictor.py reads: `session_strategy` must be one of the
  predictor's SESSION_STRATEGIES (read with `ast`: importing it would import
  TensorFlow), and `model` a SavedModel folder that is uploaded, or an s3:// URL.
- A GPU API with workers_per_replica > 1 runs that many TensorFlow processes on one
  GPU; the first takes all GPU memory unless each one is limited (section 6).
- A config written for Cortex 0.18 or later is named as such, with the 0.17 spelling.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import Any

from .messages import schema_problems, show
from .problems import ApiScope
from .project import Project
from .schema import Validator

# Keys that later Cortex versions added or moved: path -> what to write in 0.17 instead.
NEWER_KEYS: dict[tuple, tuple[str, str]] = {
    ("predictor", "threads_per_process"): ("0.18", "0.17 spells it "
                                                   "autoscaling.threads_per_worker"),
    ("predictor", "processes_per_replica"): ("0.18", "0.17 spells it "
                                                     "autoscaling.workers_per_replica"),
    ("networking",): ("0.18", "0.17 has endpoint and local_port directly under the API"),
    ("compute", "inf"): ("0.18", "0.17 has no Inferentia; remove it"),
    ("kind",): ("0.19", "0.17 APIs have no kind; remove it"),
}


def newer_cortex_hint(path: tuple) -> str | None:
    if path not in NEWER_KEYS:
        return None
    version, instead = NEWER_KEYS[path]
    return f"is Cortex {version}+ syntax, not 0.17 ({instead})"


CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "model": {"type": "string", "minLength": 1,
                  "description": "a SavedModel folder in the project, or an s3:// URL"},
        # predictor.py's session_config(): TensorFlow's ConfigProto fields of these names.
        "inter_op_parallelism_threads": {
            "type": "integer", "minimum": -1,
            "description": "an integer >= -1: -1 runs a graph's ops on the predict thread, "
                           "0 lets TensorFlow choose",
        },
        "intra_op_parallelism_threads": {
            "type": "integer", "minimum": 0,
            "description": "an integer >= 0: threads within one op, 0 lets TensorFlow choose",
        },
        "gpu_memory_fraction": {
            "type": "number", "exclusiveMinimum": 0, "maximum": 1,
            "description": "a number > 0 and <= 1: the share of GPU memory each worker "
                           "process may take",
        },
    },
}


def config_schema(strategies: tuple[str, ...] | None, predictor_path: str) -> dict[str, Any]:
    """The config schema; stricter when predictor.py is the template's (it has strategies)."""
    if strategies is None:
        return CONFIG_SCHEMA
    allowed = f"{' or '.join(strategies)}, as {predictor_path} offers"
    properties = {
        **CONFIG_SCHEMA["properties"],
        "session_strategy": {"type": "string", "enum": list(strategies), "description": allowed},
        "finalize_graph": {"type": "boolean", "description": "true or false; default true"},
    }
    # The template's PythonPredictor raises in __init__ without these two.
    return {**CONFIG_SCHEMA, "properties": properties, "required": ["model", "session_strategy"]}


def offered_strategies(predictor_file: Path, scope: ApiScope) -> tuple[str, ...] | None:
    """SESSION_STRATEGIES of predictor.py, or None if it defines none we can read."""
    try:
        tree = ast.parse(predictor_file.read_bytes(), filename=str(predictor_file))
    except (OSError, ValueError):
        return None
    except SyntaxError as exc:
        scope.warning(("predictor", "path"), f"{predictor_file.name} has a syntax error on "
                      f"line {exc.lineno}, so session_strategy is not checked (valid Python)")
        return None
    found = None
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) and node.value else [])
        if any(isinstance(t, ast.Name) and t.id == "SESSION_STRATEGIES" for t in targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return None
            ok = isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value)
            found = tuple(value) if ok and value else None
    return found


def check_api(api: dict[str, Any], scope: ApiScope, project: Project) -> None:
    predictor = api.get("predictor")
    if not isinstance(predictor, dict) or scope.is_bad(("predictor",), ("predictor", "type")):
        return
    if predictor.get("type") != "python":  # the template's predictor is a Python one
        return
    config = predictor.get("config")
    if not isinstance(config, dict) or scope.is_bad(("predictor", "config")):
        _check_gpu_memory(api, predictor, {}, scope)
        return

    strategies = None
    path = predictor.get("path")
    if isinstance(path, str) and not scope.is_bad(("predictor", "path")):
        strategies = offered_strategies(project.root / path, scope)
    errors = Validator(config_schema(strategies, path)).iter_errors(config)
    for sub_path, message in schema_problems(errors, lambda _: None):
        scope.error(("predictor", "config", *sub_path), message)

    model_key = ("predictor", "config", "model")
    if isinstance(config.get("model"), str) and not scope.is_bad(model_key):
        _check_model(config["model"], project, scope, saved_model=strategies is not None)
    _check_gpu_memory(api, predictor, config, scope)


def _check_model(model: str, project: Project, scope: ApiScope, saved_model: bool) -> None:
    key = ("predictor", "config", "model")
    allowed = "(a SavedModel folder in the project, or an s3:// URL)"
    if model.startswith("s3://"):
        if not model[len("s3://"):].partition("/")[0]:
            scope.error(key, f"{show(model)} has no bucket (s3://bucket/prefix)")
        return
    if "://" in model:
        scope.error(key, f"{show(model)} is neither a project folder nor an s3:// URL {allowed}")
        return
    relative, why = project.locate(model)
    if relative is None:
        scope.error(key, f"{show(model)} {why} {allowed}")
        return
    target = project.root / relative
    if not target.exists():
        scope.error(key, f"{show(model)} does not exist {allowed}")
        return
    reason = project.left_out(relative, target.is_dir())
    if reason is None and target.is_dir() and not project.uploads_any(relative):
        reason = "has no file that Cortex uploads"
    if reason is None and saved_model and not (target / "saved_model.pb").is_file():
        reason = "has no saved_model.pb"
    if reason:
        scope.error(key, f"{show(model)} {reason} {allowed}")


def _check_gpu_memory(api: dict, predictor: dict, config: dict, scope: ApiScope) -> None:
    fraction_key = ("predictor", "config", "gpu_memory_fraction")
    env = predictor.get("env") if isinstance(predictor.get("env"), dict) else {}
    growth = env.get("TF_FORCE_GPU_ALLOW_GROWTH")
    if isinstance(growth, str) and growth not in ("true", "false"):
        # TensorFlow compares the value with exactly "true" and "false".
        scope.warning(("predictor", "env", "TF_FORCE_GPU_ALLOW_GROWTH"),
                      f'{show(growth)} is ignored by TensorFlow ("true" or "false")')

    compute, scaling = api.get("compute"), api.get("autoscaling")
    gpu_path, workers_path = ("compute", "gpu"), ("autoscaling", "workers_per_replica")
    if not isinstance(compute, dict) or not isinstance(scaling, dict) or scope.is_bad(
        gpu_path, workers_path
    ):
        return
    gpu, workers = compute.get("gpu"), scaling.get("workers_per_replica")
    has_fraction = "gpu_memory_fraction" in config and not scope.is_bad(fraction_key)
    if gpu == 0:
        if has_fraction:
            scope.warning(fraction_key, "has no effect without a GPU (compute.gpu >= 1)")
        return
    if workers <= 1 or scope.is_bad(fraction_key):
        return

    share = math.floor(100 / workers) / 100  # a fraction that fits, to suggest
    if has_fraction:
        fraction = config["gpu_memory_fraction"]
        if fraction * workers > 1 + 1e-9:
            scope.error(fraction_key, f"{show(fraction)} x {workers} workers_per_replica = "
                        f"{fraction * workers:.3g}, more than the whole GPU (gpu_memory_"
                        f"fraction x workers_per_replica <= 1, e.g. {share})")
    elif growth != "true":
        scope.error(workers_path, f"{workers} TensorFlow processes share compute.gpu and the "
                    "first takes all GPU memory (limit each one: predictor.env "
                    'TF_FORCE_GPU_ALLOW_GROWTH: "true", or predictor.config.'
                    f"gpu_memory_fraction: {share})")
