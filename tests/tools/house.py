"""A project that is not iris, as a new user makes one: a house-price regression model with
float, int64 and string inputs, saved as a TF1 checkpoint (reference variables) by the
local TensorFlow, its predictor.py written against tf_session, a cortex.yaml that maps
each input and output on a line of its own, and a sample.json it answers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import tensorflow as tf

ROOT = Path(__file__).resolve().parents[2]

PREDICTOR = '''"""House prices from a TF1 checkpoint."""
from tf_session import integer, load_model, number, read_fields, string

FIELDS = {"area": number(10, 1000), "rooms": integer(1, 20), "city": string(max_length=40)}
INPUTS = ["area", "rooms", "city"]
OUTPUTS = ["price"]


class PythonPredictor:
    def __init__(self, config):
        self.model = load_model(config, inputs=INPUTS, outputs=OUTPUTS)

    def predict(self, payload):
        return self.model.predict(payload, self.to_inputs, self.to_answer)

    def to_inputs(self, payload):
        return read_fields(payload, FIELDS)

    def to_answer(self, outputs):
        return {"price": round(float(outputs["price"]), 2)}
'''

# {rooms} and {price}: the tensor names the config maps (a test makes one wrong).
CONFIG = """\
- name: house
  predictor:
    type: python
    path: predictor.py
    config:
      model: model
      session_strategy: per_request
      inputs:
        area: area:0
        rooms: {rooms}
        city: city:0
      outputs:
        price: {price}
"""
LINES = {"model": 6, "inputs.rooms": 10, "outputs.price": 13}  # of CONFIG's keys
SAMPLE = {"area": 80.5, "rooms": 3, "city": "Lyon"}


def write_checkpoint(folder: Path) -> None:
    """model/checkpoint and model/house.ckpt.*: price from area, rooms and city."""
    folder.mkdir(parents=True, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        area = tf.compat.v1.placeholder(tf.float32, [None], name="area")
        rooms = tf.compat.v1.placeholder(tf.int64, [None], name="rooms")
        city = tf.compat.v1.placeholder(tf.string, [None], name="city")
        weight = tf.compat.v1.Variable(1500.0, name="weight", use_resource=False)
        effect = tf.cast(tf.strings.to_hash_bucket_fast(city, 8), tf.float32) * 1e3
        tf.identity(area * weight + tf.cast(rooms, tf.float32) * 1e4 + effect, name="price")
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver().save(sess, str(folder / "house.ckpt"))


def project(folder: Path, rooms: str = "rooms:0", price: str = "price:0",
            sample: object = SAMPLE) -> Path:
    """The house project in `folder` (made); its cortex.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "tf_session.py", folder)
    (folder / "predictor.py").write_text(PREDICTOR)
    (folder / "sample.json").write_text(json.dumps(sample))
    write_checkpoint(folder / "model")
    config = folder / "cortex.yaml"
    config.write_text(CONFIG.format(rooms=rooms, price=price))
    return config
