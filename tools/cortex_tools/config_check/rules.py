"""Cortex 0.17's rules that span fields, files or APIs (pkg/types/spec/validations.go,
pkg/operator/operator/validations.go, cli/local/validations.go).

Each check runs on the API with defaults filled in and skips fields that already have
an error, so one mistake gives one message.
"""

from __future__ import annotations

from typing import Any

from .messages import show
from .problems import ApiScope
from .project import Project
from .units import parse_surge

# Only the tensorflow / onnx predictors read these (ErrorFieldNotSupportedByPredictorType);
# each with what a python predictor does instead.
NOT_FOR_PYTHON = {
    "model": "a python predictor takes its model location from predictor.config, "
             "e.g. config: {model: s3://bucket/prefix}",
    "signature_key": "a python predictor picks its signature in its own code",
    "tensorflow_serving_image": "a python predictor runs in predictor.image",
}


def check_api(api: dict[str, Any], raw: dict[str, Any], scope: ApiScope, project: Project) -> None:
    predictor = api.get("predictor")
    if isinstance(predictor, dict) and not scope.is_bad(("predictor",)):
        _check_predictor_type(predictor, raw["predictor"], scope)
        _check_project_path(predictor, "path", project, scope, folder=False)
        if "python_path" in raw["predictor"]:
            _check_project_path(predictor, "python_path", project, scope, folder=True)
    scaling = api.get("autoscaling")
    if isinstance(scaling, dict) and not scope.is_bad(("autoscaling",)):
        _check_replicas(scaling, scope)
        _check_concurrency(scaling, raw.get("autoscaling") or {}, scope)
    update = api.get("update_strategy")
    if isinstance(update, dict) and not scope.is_bad(("update_strategy",)):
        _check_surge(update, scope)


def _check_predictor_type(predictor: dict, raw: dict, scope: ApiScope) -> None:
    kind = predictor.get("type")
    if kind == "python":
        for key, instead in NOT_FOR_PYTHON.items():
            # Cortex lets tensorflow_serving_image be "" (its "unset") for every type.
            if key in raw and not scope.is_bad(("predictor", key)) and not (
                key == "tensorflow_serving_image" and raw[key] == ""
            ):
                scope.error(("predictor", key), f"is not allowed for type python ({instead})")
    elif kind in ("tensorflow", "onnx"):
        if "model" not in raw:
            scope.error(("predictor", "model"), f"is missing (required for type {kind})")
        elif kind == "onnx" and isinstance(raw["model"], str) and not raw["model"].endswith(
            ".onnx"
        ):
            scope.error(("predictor", "model"), f"{show(raw['model'])} is not an .onnx file "
                        "(a path ending in .onnx)")
        if kind == "onnx" and "signature_key" in raw:
            scope.error(("predictor", "signature_key"), "is not allowed for type onnx "
                        "(tensorflow only)")
        scope.warning(("predictor", "type"), f"{kind} predictors are outside this template "
                      "(make serve and predictor.py serve type python)")


def _check_project_path(
    predictor: dict, key: str, project: Project, scope: ApiScope, folder: bool
) -> None:
    value = predictor.get(key)
    if not isinstance(value, str) or scope.is_bad(("predictor", key)):
        return
    what = "a folder" if folder else "a file"
    allowed = f"({what} in the project, relative to the config file)"
    relative, why = project.locate(value)
    if relative is None:
        scope.error(("predictor", key), f"{show(value)} {why} {allowed}")
        return
    target = project.root / relative
    exists = target.is_dir() if folder else target.is_file()
    if not exists:
        wrong = "is a folder" if target.is_dir() else "is a file" if target.exists() else (
            "does not exist")
        scope.error(("predictor", key), f"{show(value)} {wrong} {allowed}")
        return
    reason = project.left_out(relative, folder)
    if reason is None and folder and not project.uploads_any(relative):
        reason = "has no file that Cortex uploads"
    if reason:
        scope.error(("predictor", key), f"{show(value)} {reason} {allowed}")


def _check_replicas(scaling: dict, scope: ApiScope) -> None:
    keys = ("min_replicas", "max_replicas", "init_replicas")
    if scope.is_bad(*[("autoscaling", k) for k in keys]):
        return
    low, high, init = (scaling[k] for k in keys)
    if low > high:
        scope.error(("autoscaling", "min_replicas"),
                    f"{low} is greater than max_replicas = {high} (min_replicas <= max_replicas)")
    elif init > high:
        scope.error(("autoscaling", "init_replicas"),
                    f"{init} is greater than max_replicas = {high} "
                    "(min_replicas <= init_replicas <= max_replicas)")
    elif init < low:
        scope.error(("autoscaling", "init_replicas"),
                    f"{init} is less than min_replicas = {low} "
                    "(min_replicas <= init_replicas <= max_replicas)")


def _check_concurrency(scaling: dict, raw: dict, scope: ApiScope) -> None:
    keys = ("workers_per_replica", "threads_per_worker", "target_replica_concurrency",
            "max_replica_concurrency")
    if scope.is_bad(*[("autoscaling", k) for k in keys]):
        return
    target, limit = scaling["target_replica_concurrency"], scaling["max_replica_concurrency"]
    if target <= limit:
        return
    if "target_replica_concurrency" in raw:
        wrong = f"{show(target)} is greater than max_replica_concurrency = {limit}"
    else:  # the default, workers x threads, is what overflows
        wrong = (f"defaults to workers_per_replica x threads_per_worker = {int(target)}, "
                 f"greater than max_replica_concurrency = {limit}")
    scope.error(("autoscaling", "target_replica_concurrency"),
                f"{wrong} (target_replica_concurrency <= max_replica_concurrency)")


def _check_surge(update: dict, scope: ApiScope) -> None:
    keys = ("max_surge", "max_unavailable")
    if scope.is_bad(*[("update_strategy", k) for k in keys]):
        return
    if all(parse_surge(str(update[k]))[0] == 0 for k in keys):
        scope.error(("update_strategy", "max_unavailable"),
                    "max_surge and max_unavailable are both 0 (at least one above 0, so a "
                    "rolling update can make progress)")


def check_across(apis: list[dict[str, Any]], scopes: list[ApiScope]) -> None:
    """Names, endpoints and explicit local ports are unique within one file."""
    for key in ("name", "endpoint", "local_port"):
        first: dict[Any, ApiScope] = {}
        for api, scope in zip(apis, scopes, strict=True):
            value = api.get(key)
            if scope.is_bad((key,)) or value is None or isinstance(value, (dict, list)):
                continue
            if key != "name" and key not in scope.raw and scope.is_bad(("name",)):
                continue  # a default made from a duplicate name: one message is enough
            if key == "local_port" and key not in scope.raw:
                continue  # Cortex picks a free port for each API that names none
            if value in first:
                line = first[value].lines.line_of((first[value].index, key))
                scope.error((key,), f"{show(value)} is already used by the API on line {line} "
                            f"(each API needs its own {key})")
            else:
                first[value] = scope
