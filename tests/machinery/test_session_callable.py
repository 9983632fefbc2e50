"""predict() runs the model through a session callable (Model._run_feed), not sess.run:
each output gets its own tensor's values, in predictor.py's order, also when two output
names map to one tensor or outputs are inputs fed back, and batched as unbatched."""

import numpy as np
import pytest

from tests.machinery import models
from tf_session import array, integer, load_model, number, read_fields

FIELDS = {"x": array(number(), min_length=3, max_length=3), "ids": integer(0, 10**6)}
OUTPUTS = ["x_back", "y", "ids_back", "y_again"]


class ManyOutputs:
    def __init__(self, config):
        self.model = load_model(config, inputs=["x", "ids"], outputs=OUTPUTS)

    def predict(self, payload):
        return self.model.predict(payload, self.to_inputs, self.to_answer)

    def to_inputs(self, payload):
        return read_fields(payload, FIELDS)

    def to_answer(self, outputs):
        return {name: outputs[name].tolist() for name in OUTPUTS}


@pytest.mark.parametrize("batching", [None, {"max_batch_size": 4, "batch_interval": 0}])
def test_each_output_gets_its_own_tensor(formats, batching):
    frozen = formats["frozen_graph"]
    outputs = dict(frozen.config["outputs"], x_back=models.TENSORS["x"],
                   ids_back=models.TENSORS["ids"], y_again=models.TENSORS["y"])
    config = dict(frozen.config, model=frozen.location, outputs=outputs,
                  session_strategy="once_per_thread", server_side_batching=batching)
    predictor = ManyOutputs({k: v for k, v in config.items() if v is not None})
    for x, ids in (([1.5, -2.0, 0.25], 7), ([0.0, 3.0, -1.0], 123456)):
        answer = predictor.predict({"x": x, "ids": ids})
        expected = models.expected_y([x], [ids])[0]
        assert (answer["x_back"], answer["ids_back"]) == (x, ids)
        np.testing.assert_allclose(answer["y"], expected, rtol=1e-6)
        assert answer["y_again"] == answer["y"]


def test_two_input_names_of_one_tensor_load_and_feed_it_once(formats):
    frozen = formats["frozen_graph"]
    inputs = dict(frozen.config["inputs"], x_again=models.TENSORS["x"])
    model = load_model(dict(frozen.config, model=frozen.location, inputs=inputs,
                            session_strategy="per_request"),
                       inputs=["x", "x_again", "ids"], outputs=["y"])
    answer = model.predict({"x": [1.0, 2.0, 3.0], "ids": 5},
                           lambda p: {"x": p["x"], "x_again": p["x"], "ids": p["ids"]},
                           lambda outputs: outputs["y"].tolist())
    np.testing.assert_allclose(answer, models.expected_y([[1.0, 2.0, 3.0]], [5])[0],
                               rtol=1e-6)
