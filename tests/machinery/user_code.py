"""Kinds of user inference code, and the ways of running it that the seed page discusses.

Each class is what a user might put in predictor.py's predict_on_sess / predict. They are
used with Cortex's thread model: built on one thread, called from a pool of others.
"""

import threading

import tensorflow as tf

from predictor import PythonPredictor


class ShippedInference(PythonPredictor):
    """predictor.py as shipped: explicit tensors, nothing added to the graph."""


class AddsOpsPerCall(PythonPredictor):
    """GPT-2-sampling style: a new placeholder and ops on every call, fed by name.

    Needs `finalize_graph: false`. Without the session's graph as default, the placeholder
    lands in another graph and TensorFlow refuses the feed.
    """

    def predict_on_sess(self, sess, features):
        batch = tf.compat.v1.placeholder(tf.float32, shape=[1, len(features)])
        batch_value = sess.run(batch, feed_dict={batch: [features]})
        probabilities = sess.run(self.outputs["probabilities"],
                                 {self.inputs["features"]: batch_value})[0]
        return self.answer(probabilities)

    def answer(self, probabilities):
        best = int(probabilities.argmax())
        return {"label": self.labels[best],
                "probabilities": dict(zip(self.labels, map(float, probabilities), strict=True))}


class UsesDefaultSession(AddsOpsPerCall):
    """Code that relies on the default session: Tensor.eval() and get_default_session()."""

    def predict_on_sess(self, sess, features):
        session = tf.compat.v1.get_default_session()  # None where no default is set
        probabilities = self.outputs["probabilities"].eval(
            feed_dict={self.inputs["features"]: [features]}, session=session)[0]
        return self.answer(probabilities)


USER_CODE = {
    "shipped": ShippedInference,
    "adds_ops_per_call": AddsOpsPerCall,
    "uses_default_session": UsesDefaultSession,
}


def config(strategy="per_request", model="model", **extra):
    conf = {"model": model, "session_strategy": strategy, "finalize_graph": False}
    conf.update(extra)
    return conf


def without_strategy(predictor):
    """Calls predict_on_sess straight from whatever thread predict() runs on."""
    predictor.run_with_defaults = lambda fn, features: fn(predictor.sess, features)
    return predictor


def with_page_instance_flag(predictor):
    """The seed page's literal enter-once: one flag on the instance, sess.__enter__()."""
    predictor.default_graph_loaded = False

    def run(fn, features):
        if not predictor.default_graph_loaded:
            predictor.sess.__enter__()
            predictor.default_graph_loaded = True
        return fn(predictor.sess, features)

    predictor.run_with_defaults = run
    return predictor


def with_enter_on_each_thread(predictor):
    """sess.__enter__() once per thread: the obvious 'fix' of the instance flag."""
    local = threading.local()

    def run(fn, features):
        if not getattr(local, "entered", False):
            predictor.sess.__enter__()
            local.entered = True
        return fn(predictor.sess, features)

    predictor.run_with_defaults = run
    return predictor
