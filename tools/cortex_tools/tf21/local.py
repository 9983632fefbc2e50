"""The local TensorFlow's side of the model check, run in a process of its own.

    python -m cortex_tools.tf21.local JOB.json

For each item of JOB.json it prepares what the TF 2.1 runner needs, in the item's folder:

- graph.pb and plan.json: the model as the image's loader hands it to TF 2.1 (load.py),
  with what TF 2.1's registry lacks (diagnose.graph_findings);
- runs.json, feed_N.npz, local_N.npz: every Session.run that the local predictor makes
  while it answers sample.json (an API), or one run of the model on the given or made-up
  feed (a model path): fetched names, fed arrays and the local results; and, when the
  API answers sample.json 4xx, the line that says it is no payload the API accepts.

Items: {"api": NAME, "config": FILE, "out": DIR} (with "model": PATH, the API loads that
model instead of its config's: make convert runs a model it has just written through the
project's predictor) or {"model": PATH, "signature": S|null, "feed": FILE.npz|null,
"fetch": [NAME...], "out": DIR}. The model's location and format
come from the uploaded tf_session.py (find_model, checkpoint_prefix), as on the image.
A local failure is written as "local_error" in runs.json; the plan is made regardless, so
that TF 2.1 still gets its say.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from cortex_tools.tf21 import arrays, load  # noqa: E402

SKIPPED_SINKS = ("NoOp", "Assign", "AssignAdd", "AssignSub", "AssignVariableOp", "SaveV2",
                 "Save", "RestoreV2", "MergeV2Checkpoints", "VariableV2", "VarHandleOp",
                 "Placeholder", "PlaceholderWithDefault", "Const")


def main(job_path: Path) -> int:
    job = json.loads(job_path.read_text())
    consumer_ops = load.read_op_list(Path(job["op_list"]))
    for item in job["items"]:
        out = Path(item["out"])
        out.mkdir(parents=True, exist_ok=True)
        try:
            if "api" in item:
                prepare_api(item, consumer_ops, out)
            else:
                prepare_model(item, consumer_ops, out)
        except Exception as e:  # one item's failure is its own; the others go on
            _write_json(out / "error.json", {"error": _one_line(e)})
    return 0


def prepare_api(item: dict, consumer_ops: dict, out: Path) -> None:
    from cortex_tools import project
    from cortex_tools.runtime.config import load_api

    spec = load_api(item["config"], item["api"])
    if item.get("model"):
        spec = dataclasses.replace(spec, predictor_config={**spec.predictor_config,
                                                           "model": item["model"]})
    location = spec.predictor_config.get("model")
    with project.in_project(spec):
        machinery = _tf_session(Path(spec.project_dir))
        config = b""
        if hasattr(machinery, "session_config"):  # the API's session options, as served
            config = machinery.session_config(spec.predictor_config).SerializeToString()
        _write_plan(out, lambda: _plan(machinery, location, consumer_ops), config)

    runs: list = []
    local_error = refused = None
    try:
        predictor = project.build(spec)
        sample = next((p for p in project.payloads(spec.project_dir)
                       if p.name == project.SAMPLE), None)
        if sample is None:
            raise LookupError(f"no {project.SAMPLE} in {spec.project_dir}: the check runs "
                              "the model on the feed the predictor builds for it")
        with project.in_project(spec), project.recorded_session_runs() as recorded:
            answer = predictor.predict(**_predict_args(predictor, sample.value))
        runs = [(run.fetches, run.feed, run.results) for run in recorded]
        refused = project.refusal_of(project.SAMPLE, answer)
        if not runs and not refused:
            raise LookupError(f"predict({project.SAMPLE}) made no Session.run (it answered "
                              f"{_shown(answer)})")
    except Exception as e:
        local_error = _one_line(e)
    _write_runs(out, runs, local_error, refused)


def prepare_model(item: dict, consumer_ops: dict, out: Path) -> None:
    machinery = _tf_session(Path.cwd())
    location = item["model"]
    _write_plan(out, lambda: _plan(machinery, location, consumer_ops), b"")
    runs: list = []
    local_error = None
    try:
        runs = [_run_model_locally(machinery, item)]
    except Exception as e:
        local_error = _one_line(e)
    _write_runs(out, runs, local_error)


def _plan(machinery, location: str, consumer_ops: dict) -> load.Plan:
    if not location:
        raise load.LoadError("predictor.config has no model: the check finds the model "
                             "through tf_session's config key `model`")
    files = machinery.find_model(location)
    if files.kind == machinery.SAVED_MODEL:
        plan = load.plan_saved_model(files.path, consumer_ops)
    elif files.kind == machinery.CHECKPOINT:
        prefix = machinery.checkpoint_prefix(files.path, files.location)
        plan = load.plan_checkpoint(prefix, consumer_ops)
    else:
        plan = load.plan_frozen_graph(files.path, consumer_ops)
    plan.location = location
    return plan


def _write_plan(out: Path, make_plan, config: bytes) -> None:
    try:
        plan = make_plan()
    except Exception as e:
        _write_json(out / "plan.json", {"error": _one_line(e)})
        return
    (out / "graph.pb").write_bytes(plan.graph_def)
    _write_json(out / "plan.json", {"plan": plan.as_json(), "config": config.hex()})


def _write_runs(out: Path, runs: list, local_error: str | None,
                refused: str | None = None) -> None:
    """runs.json: what each run fed and fetched, the local failure, and `refused`: the line
    saying that sample.json is no payload the API accepts (a 4xx answer)."""
    described = []
    for index, (fetches, feed, results) in enumerate(runs):
        arrays.save(out / f"feed_{index}.npz", {name: arrays.as_array(value)
                                                for name, value in feed.items()})
        arrays.save(out / f"local_{index}.npz",
                    {name: arrays.as_array(value) for name, value
                     in zip(fetches, results, strict=True) if ":" in name})
        described.append({"fetches": list(fetches), "feeds": list(feed)})
    _write_json(out / "runs.json", {"runs": described, "local_error": local_error,
                                    "refused": refused})


def _run_model_locally(machinery, item: dict) -> tuple[list[str], dict, list]:
    """One run of the model loaded by tf_session's Model, as the image's predictor loads it
    (with the local TensorFlow): the feed given or made up, the fetches given, else the
    signature's outputs, else the graph's sink tensors."""
    config = {"model": item["model"], "session_strategy": "per_request",
              "finalize_graph": False}
    if item.get("signature"):
        config["signature"] = item["signature"]
    model = machinery.Model(config, machinery.find_model(item["model"]))
    graph = model.graph
    feed = arrays.load(Path(item["feed"])) if item.get("feed") else None
    if feed is not None:
        feed = {_tensor_name(model.inputs, name): value for name, value in feed.items()}
    elif model.inputs:
        feed = {tensor.name: _made_up(tensor) for tensor in model.inputs.values()}
    else:
        feed = {op.outputs[0].name: _made_up(op.outputs[0])
                for op in graph.get_operations() if op.type == "Placeholder"}
    fetches = [_tensor_name(model.outputs, name) for name in item.get("fetch") or []]
    if not fetches:
        fetches = [tensor.name for tensor in model.outputs.values()] or _sinks(graph)
    if not fetches:
        raise LookupError("nothing to fetch: name tensors with --fetch")
    results = model.run(fetches, feed)
    return fetches, feed, results


def _tensor_name(known: dict, name: str) -> str:
    if name in known:
        return known[name].name  # a signature key
    return name if ":" in name else name + ":0"


def _made_up(tensor) -> np.ndarray:
    """A feed for `tensor`: unknown dimensions 1, values from a fixed seed."""
    shape = [1 if d is None else d for d in (tensor.shape.as_list()
                                             if tensor.shape.rank is not None else [1])]
    dtype = tensor.dtype
    rng = np.random.default_rng(0)
    if dtype.is_floating:
        return rng.standard_normal(shape).astype(dtype.as_numpy_dtype)
    if dtype.is_bool:
        return rng.random(shape) < 0.5
    if dtype.is_integer:
        return rng.integers(0, 3, size=shape).astype(dtype.as_numpy_dtype)
    if dtype.name == "string":
        return arrays.as_array(np.full(shape, b"a", dtype=object))
    raise TypeError(f"cannot make up a feed for {tensor.name} ({dtype.name}): give --feed")


def _sinks(graph) -> list[str]:
    consumed = {t.name for op in graph.get_operations() for t in op.inputs}
    return [t.name for op in graph.get_operations() if op.type not in SKIPPED_SINKS
            and not op.type.startswith(("Apply", "ResourceApply")) and
            not op.name.startswith("save/") for t in op.outputs if t.name not in consumed]


def _tf_session(project_dir: Path):
    """The uploaded tf_session module, imported from the project dir as the image does
    (else from the template this tool belongs to)."""
    template_dir = Path(__file__).resolve().parents[3]
    for folder in (project_dir, template_dir):
        if (folder / "tf_session.py").is_file():
            with _on_path(folder):
                module = sys.modules.get("tf_session")
                if module is not None and Path(module.__file__).parent == folder.resolve():
                    return module
                sys.modules.pop("tf_session", None)
                return importlib.import_module("tf_session")
    raise LookupError(f"no tf_session.py in {project_dir}: the check loads models as its "
                      "find_model and Model do")


@contextlib.contextmanager
def _on_path(folder: Path):
    sys.path.insert(0, str(folder.resolve()))
    try:
        yield
    finally:
        sys.path.remove(str(folder.resolve()))


def _predict_args(predictor: Any, payload: Any) -> dict:
    from starlette.datastructures import Headers, QueryParams

    from cortex_tools.runtime.predictor_loader import predict_arg_names

    offered = {"payload": payload, "query_params": QueryParams(""),
               "headers": Headers({"content-type": "application/json"})}
    return {name: offered[name] for name in predict_arg_names(predictor)}


def _shown(value: Any) -> str:
    body = getattr(value, "body", None)
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _one_line(error: BaseException) -> str:
    """The error's whole cause (not its first line only: TensorFlow's says just "Graph
    execution error:") and where it was raised, in one line."""
    from cortex_tools.tf_errors import whole_cause

    where = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    at = f" ({Path(where[0].filename).name}:{where[0].lineno})" if where else ""
    return f"{whole_cause(error)}{at}"


def _write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, indent=1))


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
