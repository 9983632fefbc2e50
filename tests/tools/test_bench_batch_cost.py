"""bench.timing.batch_cost, bench.inprocess.own_cost and model_use on real models
(tests.machinery.models): the sample's own example timed alone and 8 at once, and None for
a predictor that drives model.run itself, since nothing of such a predictor batches; how
each kind of predictor reaches its model."""

from __future__ import annotations

import time

import numpy as np
import pytest

from cortex_tools.bench.inprocess import model_use, own_cost
from cortex_tools.bench.timing import batch_cost
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


class DrivesTheSession(RunsItself):
    """The escape hatch for several sess.run calls: run_with_defaults(fn), fn's own runs."""

    def predict(self, payload):
        return self.model.run_with_defaults(self.run_twice, payload)

    def run_twice(self, sess, payload):
        feed = {self.model.inputs["x"]: np.asarray([payload["x"]], np.float32),
                self.model.inputs["ids"]: np.asarray([payload["ids"]], np.int64)}
        first = sess.run(self.model.outputs["y"], feed)
        return first + sess.run(self.model.outputs["y"], feed)


class UsesTheSessionDirectly(RunsItself):
    def predict(self, payload):
        with self.model.graph.as_default():
            return self.model.sess.run(self.model.outputs["y"], {
                self.model.inputs["x"]: np.asarray([payload["x"]], np.float32),
                self.model.inputs["ids"]: np.asarray([payload["ids"]], np.int64)})


class RunsThenPredicts(PythonPredictor):
    """A run of its own first (say, a lookup), then Model.predict: its requests batch."""

    def predict(self, payload):
        self.model.run(self.model.outputs["y"], {
            self.model.inputs["x"]: np.zeros((1, 3), np.float32),
            self.model.inputs["ids"]: np.zeros(1, np.int64)})
        return super().predict(payload)


@pytest.mark.parametrize("predictor_class, batching, found", [
    (RunsThenPredicts, None, "predict"),
    (PythonPredictor, None, "predict"),
    (PythonPredictor, {"max_batch_size": 4}, "predict"),
    (RunsItself, None, "run"),
    (DrivesTheSession, None, "run_with_defaults"),
    (UsesTheSessionDirectly, None, None)])
@pytest.mark.parametrize("strategy", ["per_request", "once_per_thread"])
def test_how_predict_reaches_the_model(tmp_path, predictor_class, batching, found, strategy):
    written = models.saved_model(tmp_path / "model")
    config = {"model": written.location, "session_strategy": strategy}
    if batching:
        config["server_side_batching"] = batching
    predictor = predictor_class(config)
    model, sample = predictor.model, payloads(1)[0]
    before, answer = dict(vars(model)), predictor.predict(sample)
    assert model_use(model, lambda: predictor.predict(sample)) == found
    assert vars(model) == before  # the Model's own methods again, the strategy's included
    assert model._with_defaults.__name__ == f"_run_{strategy}"
    assert np.array_equal(y_of(predictor.predict(sample)), y_of(answer))


def y_of(answer) -> np.ndarray:
    return np.asarray(answer["y"] if isinstance(answer, dict) else answer)


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


class SpinsFirst(PythonPredictor):
    """3 ms of its own work before Model.predict: the template's part, made known."""

    def predict(self, payload):
        deadline = time.perf_counter() + 0.003
        while time.perf_counter() < deadline:
            pass
        return super().predict(payload)


def test_predicts_own_cost_over_the_bare_run_of_its_example(tmp_path):
    written = models.saved_model(tmp_path / "model")
    predictor = SpinsFirst({"model": written.location, "session_strategy": "once_per_thread"})
    sample = payloads(1)[0]
    cost = own_cost(predictor.model, lambda: predictor.predict(sample), repeats=3)
    assert cost["us_run"] > 0  # the model's run, fed the sample's example
    assert 3000 <= cost["us_own"] < cost["us_predict"], cost  # the spin is predict's own
    assert cost["us_run"] < 3000 < cost["us_predict"], cost
    assert "_run_examples" not in vars(predictor.model)
    runs_itself = RunsItself({"model": written.location, "session_strategy": "per_request"})
    assert own_cost(runs_itself.model, lambda: runs_itself.predict(sample), 3) is None
