"""A predictor for tests.machinery.models, written against tf_session as a user writes one:
two payload fields of different kinds feed two inputs of different dtypes."""

from tf_session import array, integer, load_model, number, read_fields

FIELDS = {"x": array(number(), min_length=3, max_length=3), "ids": integer(0, 10**6)}


class PythonPredictor:
    def __init__(self, config):
        self.model = load_model(config, inputs=["x", "ids"], outputs=["y"])

    def predict(self, payload):
        return self.model.predict(payload, self.to_inputs, self.to_answer)

    def to_inputs(self, payload):
        fields = read_fields(payload, FIELDS)
        return {"x": fields["x"], "ids": fields["ids"]}

    def to_answer(self, outputs):
        return {"y": outputs["y"]}


def payloads(n, seed=0):
    """n distinct valid payloads."""
    import numpy as np

    rng = np.random.RandomState(seed)
    return [{"x": [round(float(v), 3) for v in rng.uniform(-5, 5, 3)],
             "ids": int(rng.randint(0, 1000))} for _ in range(n)]
