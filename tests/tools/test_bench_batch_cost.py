"""bench.batching.batch_cost on real models (tests.machinery.models): the sample's own
example timed alone and 8 at once, and None for a predictor that drives model.run itself,
since nothing of such a predictor batches."""

from __future__ import annotations

import numpy as np

from cortex_tools.bench.batching import batch_cost
from tests.machinery import models
from tests.machinery.two_inputs import PythonPredictor, payloads


class RunsItself:
    """A predictor of the README's escape hatch: model.run, never Model.predict."""

    def __init__(self, config):
        self.predictor = PythonPredictor(config)
        self.model = self.predictor.model

    def predict(self, payload):
        x = np.asarray([payload["x"]], np.float32)
        ids = np.asarray([payload["ids"]], np.int64)
        return self.model.run(self.model.outputs["y"],
                              {self.model.inputs["x"]: x, self.model.inputs["ids"]: ids})


def test_a_batch_of_the_samples_own_example_against_one(tmp_path):
    written = models.saved_model(tmp_path / "model")
    predictor = PythonPredictor({"model": written.location, "session_strategy": "per_request"})
    sample = payloads(1)[0]
    cost = batch_cost(predictor.model, lambda: predictor.predict(sample), 8, repeats=3)
    assert cost["size"] == 8 and cost["us_1"] > 0 and cost["us_batch"] > 0
    assert cost["ratio"] == round(cost["us_batch"] / cost["us_1"], 2)
    assert "_run_examples" not in vars(predictor.model)  # the model's own method again
    assert np.allclose(predictor.predict(sample)["y"],
                       models.expected_y(sample["x"], sample["ids"])[0])


def test_none_for_a_predictor_that_calls_model_run_itself(tmp_path):
    written = models.saved_model(tmp_path / "model")
    predictor = RunsItself({"model": written.location, "session_strategy": "per_request"})
    sample = payloads(1)[0]
    assert batch_cost(predictor.model, lambda: predictor.predict(sample), 8, repeats=3) is None
    assert "_run_examples" not in vars(predictor.model)
