"""The source models of the convert tests, built by the local TensorFlow and Keras in a
process of their own (eager execution on: a test process that imported tf_session has it
off), with each model's own answers to fixed examples.

    python -m tests.tools.convert_sources OUT

writes OUT/<kind> (the model) for each kind of SOURCES and OUT/expected.json: per kind, the
examples (one payload's inputs each) and the source model's outputs for them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

# kind -> (what to convert, relative to OUT; its input names; its output names)
SOURCES = {
    "keras-tf-saved-model": ("keras-tf-saved-model", ["inputs", "inputs_1"], ["output_0"]),
    "keras-export": ("keras-export", ["age", "len"], ["output_0"]),
    "keras-file": ("keras.keras", ["age", "len"], ["probabilities"]),
    "tf-module": ("tf-module", ["count", "text"], ["ids", "score"]),
    "tf1-checkpoint": ("tf1-checkpoint", ["features"], ["probabilities"]),
    "tf1-saved-model": ("tf1-saved-model", ["features"], ["probabilities"]),
    "frozen-graph": ("frozen.pb", ["features"], ["probabilities"]),
}
UNCONVERTIBLE = "bessel"  # a tf.Module whose function uses BesselI0, newer than TF 2.1


def keras_model():
    import keras

    keras.utils.set_random_seed(7)
    age = keras.Input(shape=(3,), name="age")
    length = keras.Input(shape=(2,), name="len")
    joined = keras.layers.Concatenate()([age, length])
    hidden = keras.layers.Dense(8, activation="relu", name="len_dense")(joined)
    out = keras.layers.Dense(3, activation="softmax", name="probabilities")(hidden)
    return keras.Model({"age": age, "len": length}, out)


def keras_examples() -> list[dict]:
    rng = np.random.default_rng(1)
    return [{"age": rng.standard_normal(3).tolist(), "len": rng.standard_normal(2).tolist()}
            for _ in range(3)]


def tf1_graph(tf, sess):
    """features (4) -> probabilities (3), with resource variables, as TF 2.x's
    tf.compat.v1.get_variable makes them."""
    features = tf.compat.v1.placeholder(tf.float32, [None, 4], name="features")
    kernel = tf.compat.v1.get_variable(
        "kernel", initializer=np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
    assert kernel.dtype.name == "float32" and "Resource" in type(kernel).__name__
    probabilities = tf.nn.softmax(tf.matmul(features, kernel), name="probabilities")
    sess.run(tf.compat.v1.global_variables_initializer())
    return features, probabilities


def build(out: Path) -> dict:
    import tensorflow as tf

    expected: dict = {}
    model = keras_model()
    tf.saved_model.save(model, str(out / "keras-tf-saved-model"))
    model.export(str(out / "keras-export"), verbose=False)
    model.save(out / "keras.keras")
    examples = keras_examples()
    batch = {name: np.array([e[name] for e in examples], np.float32) for name in ("age", "len")}
    predicted = model.predict(batch, verbose=0)
    for kind, (_, inputs, outputs) in SOURCES.items():
        if kind.startswith("keras"):
            renamed = [dict(zip(inputs, (e["age"], e["len"]), strict=True)) for e in examples]
            expected[kind] = {"examples": renamed,
                              "outputs": [{outputs[0]: row.tolist()} for row in predicted]}

    class Scorer(tf.Module):
        def __init__(self):
            super().__init__()
            self.weight = tf.Variable(0.5)
            self.offset = tf.Variable(3, dtype=tf.int64)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text"),
                                      tf.TensorSpec([None], tf.int64, name="count")])
        def serve(self, text, count):
            length = tf.cast(tf.strings.length(text), tf.float32)
            return {"score": length * self.weight + tf.cast(count, tf.float32),
                    "ids": tf.strings.to_hash_bucket_fast(text, 1000) + count * self.offset}

    scorer = Scorer()
    tf.saved_model.save(scorer, str(out / "tf-module"),
                        signatures={"serving_default": scorer.serve})
    texts, counts = ["cat", "", "\u00e9t\u00e9 long"], [2, 2**40, -7]
    result = scorer.serve(tf.constant(texts), tf.constant(counts, tf.int64))
    expected["tf-module"] = {
        "examples": [{"text": t, "count": c} for t, c in zip(texts, counts, strict=True)],
        "outputs": [{"score": float(s), "ids": int(i)} for s, i in
                    zip(result["score"].numpy(), result["ids"].numpy(), strict=True)]}

    class Bessel(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
        def serve(self, x):
            return {"y": tf.math.special.bessel_i0(x)}

    bessel = Bessel()
    tf.saved_model.save(bessel, str(out / UNCONVERTIBLE),
                        signatures={"serving_default": bessel.serve})

    features = np.array([[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [0, 0, 0, 0]], np.float32)
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        inputs, probabilities = tf1_graph(tf, sess)
        answers = sess.run(probabilities, {inputs: features})
        tf.compat.v1.train.Saver().save(sess, str(out / "tf1-checkpoint" / "model"))
        signature = tf.compat.v1.saved_model.signature_def_utils.predict_signature_def(
            {"features": inputs}, {"probabilities": probabilities})
        builder = tf.compat.v1.saved_model.Builder(str(out / "tf1-saved-model"))
        builder.add_meta_graph_and_variables(
            sess, ["serve"], signature_def_map={"serving_default": signature})
        builder.save()
        frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), ["probabilities"])
    (out / "frozen.pb").write_bytes(frozen.SerializeToString())
    for kind in ("tf1-checkpoint", "tf1-saved-model", "frozen-graph"):
        expected[kind] = {"examples": [{"features": row.tolist()} for row in features],
                          "outputs": [{"probabilities": row.tolist()} for row in answers]}
    return expected


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    (target / "expected.json").write_text(json.dumps(build(target)))
