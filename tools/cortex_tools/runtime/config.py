"""The API to serve: one entry of a Cortex config file, with every default filled in.

Validation is ``cortex_config.check_file``'s job (the same checks as ``make check``);
this module only picks the API and turns the dict into the few values the runtime needs.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cortex_tools.config_check import check_file
from cortex_tools.runtime.errors import ConfigError

DEFAULT_PORT = 8888
MAX_WORKERS_PER_REPLICA = 20  # Cortex 0.17's bound (pkg/types/spec/validations.go)


@dataclass(frozen=True)
class ApiSpec:
    name: str
    config_path: Path
    project_dir: Path
    predictor_path: str  # as written in the config, relative to project_dir
    predictor_config: dict[str, Any]
    python_path: Path | None
    env: dict[str, str]
    threads_per_worker: int
    workers_per_replica: int
    max_replica_concurrency: int
    local_port: int
    gpu: int = 0
    warnings: list[str] = field(default_factory=list, compare=False)

    @property
    def strategy(self) -> str:
        """The template's ``session_strategy`` (predictor.config), "-" when not set."""
        value = self.predictor_config.get("session_strategy")
        return "-" if value is None else str(value)


def worker_concurrency_limit(max_replica_concurrency: int, workers_per_replica: int) -> int:
    """uvicorn's per-worker ``limit_concurrency``, as Cortex computes it.

    1 + round(max / workers) (pkg/operator/operator/k8s_specs.go). Go's math.Round rounds
    halves away from zero; Python's round() would round them to even, so do it by hand.
    """
    return 1 + math.floor(max_replica_concurrency / workers_per_replica + 0.5)


def load_api(config_path: str | os.PathLike[str], api_name: str | None = None) -> ApiSpec:
    """The API named ``api_name`` (default: the file's first) of a valid config file."""
    specs = load_apis(config_path)
    if api_name is None:
        return specs[0]
    matches = [spec for spec in specs if spec.name == api_name]
    if not matches:
        names = ", ".join(spec.name for spec in specs)
        raise ConfigError(f"api {api_name!r} is not in {config_path} (it has: {names})")
    return matches[0]


def load_apis(config_path: str | os.PathLike[str]) -> list[ApiSpec]:
    """Every API of a valid config file, in file order (checked once, as make check does)."""
    path = Path(config_path).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"config file not found: {config_path}")

    result = check_file(Path(config_path))  # problems name the file as the user did
    problem_lines = [problem.format() for problem in result.problems]
    if not result.ok:
        errors = [problem.format() for problem in result.errors]
        if len(errors) == 1:  # the one line names the cause itself
            others = [line for line in problem_lines if line != errors[0]]
            raise ConfigError(errors[0], details=others)
        raise ConfigError(
            f"{config_path} is not a valid Cortex 0.17 config ({len(errors)} problems above)",
            details=problem_lines,
        )

    specs = [_to_spec(api, path, Path(result.project_dir).resolve(), problem_lines)
             for api in result.apis]
    if not specs:
        raise ConfigError(f"{config_path} defines no API")
    return specs


def _to_spec(api: dict[str, Any], path: Path, project_dir: Path, warnings: list[str]) -> ApiSpec:
    predictor = api["predictor"]
    autoscaling = api.get("autoscaling") or {}
    python_path = predictor.get("python_path")
    python_dir = (project_dir / python_path).resolve() if python_path else None
    return ApiSpec(
        name=api["name"],
        config_path=path,
        project_dir=project_dir,
        predictor_path=predictor["path"],
        predictor_config=dict(predictor.get("config") or {}),
        # None unless it names another folder: the project dir is on sys.path anyway
        python_path=None if python_dir in (None, project_dir) else python_dir,
        env={str(k): str(v) for k, v in (predictor.get("env") or {}).items()},
        threads_per_worker=int(autoscaling.get("threads_per_worker") or 1),
        workers_per_replica=int(autoscaling.get("workers_per_replica") or 1),
        max_replica_concurrency=int(autoscaling.get("max_replica_concurrency") or 1024),
        local_port=int(api.get("local_port") or DEFAULT_PORT),
        gpu=int((api.get("compute") or {}).get("gpu") or 0),
        warnings=warnings,
    )
