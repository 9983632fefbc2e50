"""Fill in what Cortex fills in, so a local runtime can serve an API from the result.

Static defaults are the `default` of each key in the schema. A few depend on other
fields (endpoint, init_replicas, target_replica_concurrency, image) and are computed
here. Where Cortex's default depends on the provider, this takes the aws (cluster)
one: endpoint /<name>, compute.cpu 200m, autoscaling and update_strategy filled in;
local_port is 8888, the first port Cortex's local provider tries.
"""

from __future__ import annotations

import copy
from typing import Any

from cortex_tools import CORTEX_VERSION

from .schema import API_SCHEMA
from .units import number_text


def with_defaults(api: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `api` with every default filled in; wrong types are left as they are."""
    filled = copy.deepcopy(api)  # YAML aliases share objects; never fill the caller's data
    _fill_static(API_SCHEMA, filled)
    _fill_computed(filled)
    return filled


def _fill_static(schema: dict[str, Any], value: dict[str, Any]) -> None:
    for key, sub in schema.get("properties", {}).items():
        if key not in value:
            if "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            elif "properties" in sub and not sub.get("required"):
                value[key] = {}  # an optional section: all of its defaults
                _fill_static(sub, value[key])
        elif "properties" in sub and isinstance(value[key], dict):
            _fill_static(sub, value[key])


def _ints(*values: Any) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def _fill_computed(api: dict[str, Any]) -> None:
    name, endpoint = api.get("name"), api.get("endpoint")
    if isinstance(endpoint, str):
        api["endpoint"] = "/" + endpoint.strip("/")  # Cortex's canonical form
    elif "endpoint" not in api and isinstance(name, str):
        api["endpoint"] = "/" + name

    predictor, compute = api.get("predictor"), api.get("compute")
    gpu = compute.get("gpu") if isinstance(compute, dict) else 0
    if isinstance(predictor, dict):
        predictor.setdefault("python_path", ".")  # paths here are relative to project_dir
        if not predictor.get("image"):
            predictor["image"] = default_image(predictor.get("type"), gpu)

    cpu = compute.get("cpu") if isinstance(compute, dict) else None
    if isinstance(cpu, (int, float)) and not isinstance(cpu, bool):
        compute["cpu"] = number_text(cpu)  # Cortex keeps quantities as text

    scaling = api.get("autoscaling")
    if isinstance(scaling, dict):
        if "init_replicas" not in scaling:
            scaling["init_replicas"] = scaling.get("min_replicas")
        workers, threads = scaling.get("workers_per_replica"), scaling.get("threads_per_worker")
        if "target_replica_concurrency" not in scaling and _ints(workers, threads):
            scaling["target_replica_concurrency"] = float(workers * threads)

    update = api.get("update_strategy")
    if isinstance(update, dict):
        for key in ("max_surge", "max_unavailable"):
            if _ints(update.get(key)):
                update[key] = str(update[key])


def default_image(predictor_type: Any, gpu: Any) -> str:
    device = "gpu" if _ints(gpu) and gpu > 0 else "cpu"
    name = {"tensorflow": "tensorflow-predictor", "onnx": f"onnx-predictor-{device}"}.get(
        predictor_type, f"python-predictor-{device}"
    )
    return f"cortexlabs/{name}:{CORTEX_VERSION}"
