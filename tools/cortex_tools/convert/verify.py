"""The written model, run by each tier, against the source model's own outputs.

A tier runs the model as some TensorFlow loads it and gives its outputs for each run of
the Job (feed.py), by signature name; each is compared with what the source model answers
on the same feed (tf21.compare: float32 within 1e-5 of max(1, |value|)). Tiers now:

- LocalTier: the local TensorFlow, the model loaded by the project's tf_session.py (the
  child process of feed.py did it: local_N.npz);
- CApiTier: TensorFlow 2.1.0, the real wheel driven through its C API, loaded as the
  image's tf.compat.v1 loader loads it (cortex_tools.tf21, as make check runs it);
- ImageStackTier, when .venv-image is set up: the image's own Python 3.6, TensorFlow 2.1.0
  and numpy 1.18.4, the model loaded and run by the project's tf_session.py there
  (image_stack/py36/model_outputs.py), as predictor.py will on Cortex.

Another tier is a class with a `name` and `outputs(job, signature)` added to `tiers()`:
whatever it returns is compared with the source and reported like the others.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from cortex_tools.convert.feed import Job
from cortex_tools.convert.saved_model import Signature
from cortex_tools.image_stack import stack
from cortex_tools.tf21 import TF_VERSION, arrays, check
from cortex_tools.tf21.compare import Comparison, compare


class TierFailure(Exception):
    """The tier could not run the model: a headline and TensorFlow's own words."""

    def __init__(self, headline: str, details: list[str]) -> None:
        super().__init__(headline)
        self.headline, self.details = headline, details


class Tier(Protocol):
    name: str

    def outputs(self, job: Job, signature: Signature) -> list[dict[str, np.ndarray]]:
        """Each run's outputs by signature name; TierFailure if the model does not run."""


@dataclass
class Verdict:
    tier: str
    comparison: Comparison | None = None
    failure: TierFailure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and self.comparison is not None and self.comparison.ok


class LocalTier:
    def __init__(self) -> None:
        import tensorflow as tf

        self.name = f"local TensorFlow {tf.__version__} (tf_session)"

    def outputs(self, job: Job, signature: Signature) -> list[dict[str, np.ndarray]]:
        failed = job.local_error or job.item_error
        if failed:
            raise TierFailure(f"tf_session cannot load or run it: {failed}", [])
        return [_by_name(arrays.load(job.folder / f"local_{index}.npz"), signature)
                for index in range(len(job.runs))]


class CApiTier:
    name = f"TensorFlow {TF_VERSION} (C API)"

    def __init__(self, prepared: check.Setup) -> None:
        self.prepared = prepared

    def outputs(self, job: Job, signature: Signature) -> list[dict[str, np.ndarray]]:
        outcome = check.verdict("it", job.folder, self.prepared, job.local_error)
        files = [job.folder / f"tf21_{index}.npz" for index in range(len(job.runs))]
        if not all(f.is_file() for f in files):
            headline = outcome.line.removeprefix("it: ")
            raise TierFailure(headline, outcome.details)
        return [_by_name(arrays.load(f), signature) for f in files]


class ImageStackTier:
    TIMEOUT_S = 600

    def __init__(self, model: str) -> None:
        self.model = str(Path(model).resolve())
        self.name = f"image stack (Python {stack.ready_version()}, TensorFlow {TF_VERSION})"

    def outputs(self, job: Job, signature: Signature) -> list[dict[str, np.ndarray]]:
        tensors = signature.tensor_names("inputs") | signature.tensor_names("outputs")
        with tempfile.TemporaryDirectory(prefix="convert-image-") as tmp:
            folder = Path(tmp)
            runs = []
            for index, run in enumerate(job.runs):
                feed = folder / f"feed_{index}.npz"
                arrays.save(feed, {tensors[name]: value for name, value in run.feed.items()})
                runs.append({"feed": str(feed), "out": str(folder / f"out_{index}.npz"),
                             "fetch": [tensors[name] for name in run.fetch]})
            request = folder / "job.json"
            request.write_text(json.dumps({"project": str(stack.TEMPLATE_ROOT),
                                           "model": self.model,
                                           "runs": runs}))
            done = stack.run_py36("model_outputs.py", str(request), timeout=self.TIMEOUT_S)
            if done is None:
                raise TierFailure(f"no answer within {self.TIMEOUT_S} s", [])
            if (folder / "error.json").is_file():
                error = json.loads((folder / "error.json").read_text())["error"]
                raise TierFailure(f"tf_session cannot load or run it: {error}", [])
            if done.returncode != 0:
                tail = stack.last_error_line(done)
                raise TierFailure(f"the process ended with exit status {done.returncode}",
                                  [tail] if tail else [])
            return [_by_name(arrays.load(run["out"]), signature) for run in runs]


def tiers(prepared: check.Setup, model: str) -> list[Tier]:
    """The tiers that check `model` here: the image stack's only where it is set up."""
    found: list[Tier] = [LocalTier(), CApiTier(prepared)]
    return found + [ImageStackTier(model)] if stack.is_ready() else found


def verify(job: Job, signature: Signature, expected: list[dict[str, np.ndarray]],
           tiers_: list[Tier]) -> list[Verdict]:
    verdicts = []
    for tier in tiers_:
        verdict = Verdict(tier.name)
        try:
            produced = tier.outputs(job, signature)
        except TierFailure as e:
            verdict.failure = e
        else:
            verdict.comparison = Comparison()
            for want, got in zip(expected, produced, strict=True):
                verdict.comparison.add(compare(want, got, (f"in {tier.name}",
                                                           "in the source model")))
        verdicts.append(verdict)
    return verdicts


def _by_name(values: dict[str, np.ndarray], signature: Signature) -> dict[str, np.ndarray]:
    names = {tensor: name for name, tensor in signature.tensor_names("outputs").items()}
    return {names[tensor]: value for tensor, value in values.items() if tensor in names}

