"""What the TensorFlow test predictors share: user inference code, and a test harness."""

import threading

import tensorflow as tf

tf.compat.v1.disable_eager_execution()  # TF1-style graphs, as predictor.py runs them


def new_session():
    """A session on a graph of its own that holds the "model" (a session's graph must not
    be empty), as loading a SavedModel would give."""
    sess = tf.compat.v1.Session(graph=tf.Graph())
    with sess.graph.as_default():
        tf.constant([0.5, 0.25, -1.0, -2.0], name="weights")
    return sess


def predict_on_sess(sess, payload):
    """User inference code that relies on the default graph: a new placeholder per call.

    Where the session's graph is not this thread's default, the placeholder lands in
    another graph and TensorFlow refuses the feed: "Cannot interpret feed_dict key as
    Tensor: ... is not an element of this graph" (the seed page's error).
    """
    features = tf.compat.v1.placeholder(tf.float32, shape=[None, 4])
    scores = tf.reduce_sum(features * [0.5, 0.25, -1.0, -2.0], axis=1)
    row = [[payload["sepal_length"], payload["sepal_width"],
            payload["petal_length"], payload["petal_width"]]]
    return {"score": float(sess.run(scores, feed_dict={features: row})[0]),
            "thread": threading.get_ident()}


class Sync:
    """Test harness, not part of any pattern: a payload {"sync": n} holds its call until n
    calls run at once, so that n distinct pool threads are used for certain."""

    def __init__(self):
        self.lock = threading.Lock()
        self.barriers = {}

    def __call__(self, payload):
        parties = payload.get("sync", 1)
        if parties > 1:
            with self.lock:
                barrier = self.barriers.setdefault(parties, threading.Barrier(parties, timeout=20))
            barrier.wait()
