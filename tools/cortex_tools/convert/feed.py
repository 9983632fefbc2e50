"""The inputs the written model is checked on, and the local runs of it (tf_session's).

First choice: what the project's predictor.py feeds for sample.json, with the written
model in place of its config's (the API whose `model` is DEST, else the first of
cortex.yaml), in a child process that imports tf_session as the image does
(cortex_tools.tf21.local, as make check runs it). That fails as long as predictor.py is
written for another model; then inputs are generated from the signature: 2 examples along
an unknown first axis, 3 along other unknown axes, values from a fixed seed (small
integers, so that they may index an embedding).

Either way the child leaves in its folder what the tiers read (verify.py): the plan for
TensorFlow 2.1 (plan.json, graph.pb), each Session.run's feed (feed_N.npz), fetches
(runs.json) and the local results (local_N.npz), by tensor name.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cortex_tools.convert.saved_model import SERVING_DEFAULT, Signature
from cortex_tools.tf21 import arrays, check

BATCH = 2  # examples along an unknown first axis: a batch axis must stay one
OTHER_DIM = 3


@dataclass
class Run:
    """One run of the written model: its feed and fetches by signature name."""

    feed: dict[str, np.ndarray]
    fetch: list[str]


@dataclass
class Job:
    """A folder prepared by cortex_tools.tf21.local for one model item."""

    folder: Path
    how: str  # where the feed came from, for the report
    runs: list[Run] = field(default_factory=list)
    local_error: str | None = None  # the local process failed as a whole
    item_error: str | None = None  # the local runs failed


def prepare(model: str, dest: str, signature: Signature, work: Path, *,
            prepared: check.Setup, config: str | None) -> Job:
    api, reason = (_api_for(dest, config) if config and os.path.isfile(config)
                   else (None, "no cortex.yaml"))
    if api is not None:
        job = _through_predictor(model, api, config, signature, work / "sample",
                                 prepared=prepared)
        if isinstance(job, Job):
            return job
        reason = job
    return _generated(model, signature, work / "generated", prepared, reason)


def _api_for(dest: str, config: str) -> tuple[str | None, str]:
    """The API whose model DEST is (else the config's first), or None and why none."""
    from cortex_tools.runtime.config import ConfigError, load_apis

    try:
        specs = load_apis(config)
    except OSError as e:
        return None, f"{config} cannot be read ({e.strerror})"
    except ConfigError as e:
        words = " ".join([str(e), *getattr(e, "details", [])])
        if "holds no model yet" in words:  # model/ after make remove-example, DEST to be
            return None, f"the model folder of {config} holds no model yet"
        return None, f"{config} is not a valid config yet (make check says why)"
    for spec in specs:
        location = spec.predictor_config.get("model")
        if isinstance(location, str) and os.path.abspath(
                os.path.join(spec.project_dir, location)) == os.path.abspath(dest):
            return spec.name, ""
    return specs[0].name, ""


def _through_predictor(model: str, api: str, config: str, signature: Signature,
                       folder: Path, *, prepared: check.Setup) -> Job | str:
    """The Job of predictor.py's runs for sample.json, or why there is none."""
    if not (Path(config).parent / "sample.json").is_file():
        return "no sample.json"
    item = {"api": api, "config": str(Path(config).resolve()), "model": model,
            "out": str(folder)}
    local_error = check.run_local(folder.parent, [item], prepared)
    if local_error:
        return local_error
    runs = _read(folder / "runs.json")
    failed = _read(folder / "error.json").get("error") or runs.get("local_error")
    if failed:
        return f"predictor.py (api {api}) fails on it: {failed}"
    if runs.get("refused"):
        return f"predictor.py (api {api}) answers 4xx: {runs['refused']}"
    inputs = {t: k for k, t in signature.tensor_names("inputs").items()}
    outputs = {t: k for k, t in signature.tensor_names("outputs").items()}
    job = Job(folder, f"sample.json through predictor.py (api {api})")
    for index, run in enumerate(runs.get("runs", [])):
        unknown = [name for name in [*run["feeds"], *run["fetches"]]
                   if name not in inputs and name not in outputs]
        if unknown:
            return (f"predictor.py (api {api}) feeds or fetches {unknown[0]}, which is not "
                    "in the signature")
        feed = arrays.load(folder / f"feed_{index}.npz")
        job.runs.append(Run({inputs[name]: value for name, value in feed.items()},
                            [outputs[name] for name in run["fetches"]]))
    if not job.runs:
        return f"predictor.py (api {api}) made no Session.run for sample.json"
    return job


def _generated(model: str, signature: Signature, folder: Path, prepared: check.Setup,
               reason: str) -> Job:
    folder.mkdir(parents=True, exist_ok=True)
    feed = {tensor.name: made_up(tensor.dtype, tensor.shape, seed)
            for seed, tensor in enumerate(signature.inputs)}
    arrays.save(folder / "feed.npz", feed)
    fetch = [tensor.name for tensor in signature.outputs]
    item = {"model": model, "signature": SERVING_DEFAULT, "feed": str(folder / "feed.npz"),
            "fetch": fetch, "out": str(folder / "run")}
    shapes = ", ".join(f"{name} {value.shape}" for name, value in feed.items())
    job = Job(folder / "run", f"generated inputs ({shapes}), since {reason}")
    job.local_error = check.run_local(folder, [item], prepared)
    runs = _read(folder / "run" / "runs.json")
    job.item_error = _read(folder / "run" / "error.json").get("error") or \
        runs.get("local_error")
    job.runs.append(Run(feed, fetch))
    return job


def made_up(dtype: str, shape: tuple | None, seed: int) -> np.ndarray:
    """Values for an input of `dtype` and `shape` (None: unknown), the same every run."""
    dims = [BATCH] if shape is None else [
        (BATCH if axis == 0 else OTHER_DIM) if d is None else d for axis, d in enumerate(shape)]
    rng = np.random.default_rng(seed)
    if dtype.startswith(("float", "bfloat", "half", "double")):
        return rng.standard_normal(dims).astype(np.dtype(dtype.replace("bfloat16", "float32")))
    if dtype == "bool":
        return rng.random(dims) < 0.5
    if dtype.startswith(("int", "uint")):
        return rng.integers(0, 3, size=dims).astype(np.dtype(dtype))
    if dtype == "string":
        words = np.array([b"a", b"the cat", b"", "\u00e9t\u00e9".encode()], dtype=object)
        return arrays.as_array(words[rng.integers(0, len(words), size=dims)])
    raise ValueError(f"cannot make up values of {dtype}")


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
