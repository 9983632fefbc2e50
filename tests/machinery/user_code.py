"""Kinds of user inference code, and the ways of running it that the seed page discusses.

Each class is what a user might write in predictor.py. They are used with Cortex's thread
model: built on one thread, called from a pool of others. The first answers through
Model.predict (the template's way); the other two drive the session themselves through
the escape hatch, Model.run_with_defaults, in the two ways that need TensorFlow's
per-thread defaults.
"""

import threading

import tensorflow as tf

from tests.machinery import two_inputs
from tf_session import read_fields


class ThroughPredict(two_inputs.PythonPredictor):
    """predictor.py's way: explicit tensors, nothing added to the graph."""


class AddsOpsPerCall(two_inputs.PythonPredictor):
    """GPT-2-sampling style: a new placeholder and ops on every call, fed by name.

    Needs `finalize_graph: false`. Without the session's graph as default, the placeholder
    lands in another graph and TensorFlow refuses the feed.
    """

    def predict(self, payload):
        fields = read_fields(payload, two_inputs.FIELDS)
        return self.model.run_with_defaults(self.sample, fields)

    def sample(self, sess, fields):
        x = tf.compat.v1.placeholder(tf.float32, shape=[1, 3])
        x_value = sess.run(x, feed_dict={x: [fields["x"]]})
        y = sess.run(self.model.outputs["y"],
                     {self.model.inputs["x"]: x_value, self.model.inputs["ids"]: [fields["ids"]]})
        return {"y": y[0].tolist()}


class UsesDefaultSession(AddsOpsPerCall):
    """Code that relies on the default session: get_default_session() and Tensor.eval()."""

    def sample(self, sess, fields):
        session = tf.compat.v1.get_default_session()  # None where no default is set
        y = self.model.outputs["y"].eval(
            feed_dict={self.model.inputs["x"]: [fields["x"]],
                       self.model.inputs["ids"]: [fields["ids"]]}, session=session)
        return {"y": y[0].tolist()}


USER_CODE = {
    "through_predict": ThroughPredict,
    "adds_ops_per_call": AddsOpsPerCall,
    "uses_default_session": UsesDefaultSession,
}


def without_strategy(predictor):
    """Calls the user's function straight from whatever thread predict() runs on."""
    sess = predictor.model.sess
    predictor.model.run_with_defaults = lambda fn, *args: fn(sess, *args)
    return predictor


def with_page_instance_flag(predictor):
    """The seed page's literal enter-once: one flag on the instance, sess.__enter__()."""
    sess = predictor.model.sess
    predictor.default_graph_loaded = False

    def run(fn, *args):
        if not predictor.default_graph_loaded:
            sess.__enter__()
            predictor.default_graph_loaded = True
        return fn(sess, *args)

    predictor.model.run_with_defaults = run
    return predictor


def with_enter_on_each_thread(predictor):
    """sess.__enter__() once per thread: the obvious 'fix' of the instance flag."""
    sess = predictor.model.sess
    local = threading.local()

    def run(fn, *args):
        if not getattr(local, "entered", False):
            sess.__enter__()
            local.entered = True
        return fn(sess, *args)

    predictor.model.run_with_defaults = run
    return predictor
