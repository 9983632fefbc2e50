"""Checks Cortex cannot make before a deploy, because they depend on the API's predictor.

- Cortex's class rules on predictor.path, read with ast (predictor_class): every python
  predictor, since Cortex only finds them when the API starts. `make check` only
  (class_rules=True): the runtime loads the class itself and says the same in Cortex's
  own words.
- A template predictor (tf_session.py beside it, and imported: machinery) takes the
  predictor.config that tf_session.py's CONFIG_SCHEMA states (predictor_config) and a
  model tf_session can load, uploaded (model_location). Any other predictor's config is
  free-form.
- A GPU API with workers_per_replica > 1 runs that many TensorFlow processes on one
  GPU; the first takes all GPU memory unless each one is limited (section 6).
- A config written for a later Cortex is named as such, with the target's spelling.

check_api returns where a template predictor's model is (model_location.LOCAL or S3)
when nothing stood in the way: what the build check (build.py) may build.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path, PurePosixPath
from typing import Any

from cortex_tools import CORTEX_VERSION

from . import model_location, predictor_class, predictor_config
from .machinery import FILE_NAME, MODULE, Machinery, MachineryError, machinery_beside
from .messages import show
from .problems import ApiScope
from .project import Project

RELEASE = ".".join(CORTEX_VERSION.split(".")[:2])  # "0.17": what the messages name
PATH = ("predictor", "path")
CONFIG = ("predictor", "config")

# Keys that later Cortex versions added or moved: path -> what to write in the target instead.
NEWER_KEYS: dict[tuple, tuple[str, str]] = {
    ("predictor", "threads_per_process"): ("0.18", f"{RELEASE} spells it "
                                                   "autoscaling.threads_per_worker"),
    ("predictor", "processes_per_replica"): ("0.18", f"{RELEASE} spells it "
                                                     "autoscaling.workers_per_replica"),
    ("networking",): ("0.18", f"{RELEASE} has endpoint and local_port directly under the API"),
    ("compute", "inf"): ("0.18", f"{RELEASE} has no Inferentia; remove it"),
    ("kind",): ("0.19", f"{RELEASE} APIs have no kind; remove it"),
}


def newer_cortex_hint(path: tuple) -> str | None:
    if path not in NEWER_KEYS:
        return None
    version, instead = NEWER_KEYS[path]
    return f"is Cortex {version}+ syntax, not {RELEASE} ({instead})"


def check_api(api: dict[str, Any], scope: ApiScope, project: Project,
              class_rules: bool = True) -> str | None:
    predictor = api.get("predictor")
    if not isinstance(predictor, dict) or scope.is_bad(("predictor",), ("predictor", "type")):
        return None
    if predictor.get("type") != "python":  # the template's predictor is a Python one
        return None
    config = predictor.get("config")
    config_ok = isinstance(config, dict) and not scope.is_bad(CONFIG)

    machinery = None
    path = predictor.get("path")
    if isinstance(path, str) and not scope.is_bad(PATH):
        predictor_file = project.root / path
        tree = predictor_class.parse(predictor_file, path, scope, fatal=class_rules)
        if tree is not None:
            if class_rules:
                predictor_class.check(tree, path, scope)
            machinery = _machinery(predictor_file, tree, path, project, scope)

    where = None
    if machinery is not None and config_ok:
        predictor_config.check(config, api, machinery, scope)
        where = model_location.check(config, machinery, project, scope)
    _check_gpu_memory(api, predictor, config if machinery and config_ok else {}, scope)
    return where


def _machinery(predictor_file: Path, tree: ast.Module, path: str, project: Project,
               scope: ApiScope) -> Machinery | None:
    """The tf_session.py a template predictor imports, readable and uploaded; else None."""
    try:
        machinery = machinery_beside(predictor_file, tree)
    except MachineryError as exc:
        if exc.fatal:
            scope.error(PATH, f"{path} imports {MODULE}, and {exc}")
        else:
            scope.warning(PATH, str(exc))
        return None
    if machinery is None:
        return None
    beside = PurePosixPath(path).parent / FILE_NAME
    relative, _ = project.locate(str(beside))
    reason = project.left_out(relative, False) if relative is not None else None
    if reason:
        scope.error(PATH, f"{path} imports {MODULE}, but {beside} {reason} (Cortex uploads "
                    f"{FILE_NAME} beside {path})")
        return None
    return machinery


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
