"""The project's APIs and payloads as JSON, for the code that runs on the image stack.

The image stack's Python 3.6 cannot import these tools (Python 3.10+), so the template
tests and `make check` hand it what cortex_tools.project computes here: every API of every
cortex*.yaml with its defaults filled in (config rules checked, as `make serve` checks
them), and sample.json and samples/*.json. One reader of the configs for both stacks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cortex_tools import project
from cortex_tools.runtime.config import ApiSpec


def spec_json(spec: ApiSpec) -> dict[str, Any]:
    return {"name": spec.name, "config_path": str(spec.config_path),
            "project_dir": str(spec.project_dir), "predictor_path": spec.predictor_path,
            "predictor_config": spec.predictor_config,
            "python_path": None if spec.python_path is None else str(spec.python_path),
            "env": spec.env, "threads_per_worker": spec.threads_per_worker,
            "workers_per_replica": spec.workers_per_replica, "strategy": spec.strategy}


def project_json(project_dir: Path, specs: list[ApiSpec] | None = None) -> str:
    specs = project.api_specs(project_dir) if specs is None else specs
    return json.dumps({"specs": [spec_json(s) for s in specs],
                       "payloads": [{"name": p.name, "value": p.value}
                                    for p in project.payloads(project_dir)]})
