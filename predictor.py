"""The API's own code: what changes with the model. Cortex 0.17 runs this file.

Cortex builds PythonPredictor on a worker's main thread and calls predict() on
threads_per_worker other threads; tf_session.py (replace it to update it, never edit it)
loads the model and gives those threads its graph and session, as predictor.config's
session_strategy says. To serve your own model, change the four marked parts
(README: "Put in your own model"). Python 3.6 and TensorFlow 2.1, as in Cortex's image.
"""
from tf_session import load_model, number, read_fields

# 1. The payload: each field and how it is checked. A bad payload gets a 400 whose
#    message names the field. Readers: number(), integer(), string(), boolean(), array(),
#    base64_bytes(), image(), optional(reader, default=...), each with bounds (values far
#    outside the training data give meaningless answers; large ones cost memory).
CENTIMETRES = number(minimum=0, maximum=100)
FIELDS = {
    "sepal_length": CENTIMETRES,
    "sepal_width": CENTIMETRES,
    "petal_length": CENTIMETRES,
    "petal_width": CENTIMETRES,
}

# 2. The model's inputs this code feeds and the outputs it reads for each example: keys
#    of the SavedModel's signature, or names that predictor.config inputs/outputs map to
#    tensors (a frozen graph or a checkpoint). Each has the batch as its first axis.
INPUTS = ["features"]
OUTPUTS = ["probabilities"]


class PythonPredictor:
    def __init__(self, config):
        # Loads config["model"] into a graph and session of its own and applies
        # config["session_strategy"] (and server_side_batching) to every predict call.
        self.model = load_model(config, inputs=INPUTS, outputs=OUTPUTS)

        # 3. Done once for the model: the class names, an output that needs no input.
        self.labels = [label.decode() for label in self.model.evaluate("classes")]

    def predict(self, payload):
        return self.model.predict(payload, self.to_inputs, self.to_answer)

    # 4. One payload -> one example's inputs, and one example's outputs -> the answer.
    #    Both work on a single example, without the batch axis: tf_session stacks examples
    #    and runs the model once for them.

    def to_inputs(self, payload):
        fields = read_fields(payload, FIELDS)
        return {"features": [fields[name] for name in FIELDS]}

    def to_answer(self, outputs):
        probabilities = dict(zip(self.labels, outputs["probabilities"].tolist()))
        return {
            "label": max(probabilities, key=probabilities.get),
            "probabilities": probabilities,
        }
