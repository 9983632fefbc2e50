"""Train the bundled iris classifier and export it as a TF1-style SavedModel.

    python example/export_model.py --data example/iris.csv --out model   (make model)

Deterministic: the split, the initial weights (NumPy, fixed seed) and full-batch training on
one CPU thread are the same on every run, so a re-export predicts what the committed model does.

The graph uses only long-standing ops and reference variables, and default-valued attributes
are stripped, so that TensorFlow 2.1 (the Cortex 0.17 image) loads what a newer TF exports.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
CLASSES = ["setosa", "versicolor", "virginica"]
SIGNATURE = "predict"  # the model's only signature, so tf_session picks it by default
HIDDEN_UNITS = 16
STEPS = 400
LEARNING_RATE = 0.05
SEED = 17
HELD_OUT_EVERY = 5  # every 5th row of each class is held out: 30 of 150


def load_iris(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    x = np.array([[float(row[name]) for name in FEATURES] for row in rows], dtype=np.float32)
    y = np.array([CLASSES.index(row["species"]) for row in rows], dtype=np.int64)
    return x, y


def split(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, deterministic: the i-th row of a class is held out when i % 5 == 4."""
    held_out = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        held_out[rows[HELD_OUT_EVERY - 1 :: HELD_OUT_EVERY]] = True
    return np.flatnonzero(~held_out), np.flatnonzero(held_out)


def initial_weights() -> dict[str, np.ndarray]:
    """Glorot-uniform kernels and zero biases, drawn by NumPy with a fixed seed."""
    rng = np.random.RandomState(SEED)
    shapes = {"hidden": (len(FEATURES), HIDDEN_UNITS), "output": (HIDDEN_UNITS, len(CLASSES))}
    params = {}
    for layer, shape in shapes.items():
        limit = np.sqrt(6.0 / sum(shape))
        params[layer + "/kernel"] = rng.uniform(-limit, limit, size=shape).astype(np.float32)
        params[layer + "/bias"] = np.zeros(shape[1], np.float32)
    return params


def forward(params: dict[str, np.ndarray], mean: np.ndarray, std: np.ndarray) -> dict:
    """The model in the current default graph: reference variables, as TF1 code has them."""
    v = {name: tf.compat.v1.Variable(value, name=name, use_resource=False)
         for name, value in params.items()}
    features = tf.compat.v1.placeholder(tf.float32, [None, len(FEATURES)], name="features")
    # Standardise with the training split's statistics, baked in as constants.
    mean, std = tf.constant(mean, name="feature_mean"), tf.constant(std, name="feature_std")
    scaled = (features - mean) / std
    hidden = tf.nn.relu(tf.matmul(scaled, v["hidden/kernel"]) + v["hidden/bias"])
    logits = tf.add(tf.matmul(hidden, v["output/kernel"]), v["output/bias"], name="logits")
    return {"variables": v, "features": features, "logits": logits,
            "probabilities": tf.nn.softmax(logits, name="probabilities"),
            "classes": tf.constant(CLASSES, name="classes")}


def one_thread_session(graph: tf.Graph) -> tf.compat.v1.Session:
    # One thread: reductions always add in the same order, so training is repeatable.
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1,
                                      inter_op_parallelism_threads=1)
    return tf.compat.v1.Session(graph=graph, config=config)


def train(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Full-batch Adam on (x, y); returns the trained weights."""
    graph = tf.Graph()
    with graph.as_default(), one_thread_session(graph) as sess:
        model = forward(initial_weights(), x.mean(axis=0), x.std(axis=0))
        labels = tf.compat.v1.placeholder(tf.int64, [None])
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=model["logits"]))
        train_op = tf.compat.v1.train.AdamOptimizer(LEARNING_RATE).minimize(loss)
        sess.run(tf.compat.v1.global_variables_initializer())
        for _ in range(STEPS):
            sess.run(train_op, {model["features"]: x, labels: y})
        return sess.run(model["variables"])


def export(data: Path, out: Path) -> float:
    """Train, write the SavedModel to `out` (replacing it) and return held-out accuracy."""
    x, y = load_iris(data)
    train_rows, held_out = split(y)
    params = train(x[train_rows], y[train_rows])

    # The served graph is built afresh: the forward pass and its weights, no optimizer.
    graph = tf.Graph()
    with graph.as_default(), one_thread_session(graph) as sess:
        model = forward(params, x[train_rows].mean(axis=0), x[train_rows].std(axis=0))
        sess.run(tf.compat.v1.global_variables_initializer())
        predicted = sess.run(model["probabilities"], {model["features"]: x[held_out]})
        accuracy = float((predicted.argmax(axis=1) == y[held_out]).mean())
        signature = tf.compat.v1.saved_model.signature_def_utils.predict_signature_def(
            inputs={"features": model["features"]},
            outputs={name: model[name] for name in ("logits", "probabilities", "classes")},
        )
        if out.exists():
            shutil.rmtree(out)
        builder = tf.compat.v1.saved_model.Builder(str(out))
        builder.add_meta_graph_and_variables(
            sess, [tf.compat.v1.saved_model.tag_constants.SERVING],
            signature_def_map={SIGNATURE: signature},
            strip_default_attrs=True,  # older TF (2.1) rejects attributes it does not know
        )
        builder.save()
    return accuracy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("example/iris.csv"))
    parser.add_argument("--out", type=Path, default=Path("model"))
    args = parser.parse_args(argv)
    tf.compat.v1.disable_eager_execution()
    accuracy = export(args.data, args.out)
    print(f"exported {args.out} (signature '{SIGNATURE}'), held-out accuracy {accuracy:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
