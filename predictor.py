"""Cortex 0.17 Python predictor for a TF1-style (session/graph) SavedModel.

Cortex builds PythonPredictor on a worker's main thread, then calls predict() on a pool
of `threads_per_worker` other threads. TensorFlow keeps the default graph and default
session per thread, so on those threads neither is set unless predict() sets it.
`config["session_strategy"]` picks how (README: "Choosing a session strategy"):

  per_request      enter graph and session as defaults around every call (a few us a call)
  once_per_thread  enter them on each thread's first call and keep them (about 0.1 us a call)

Both are correct at any threads_per_worker.

Runs on the image's Python 3.6 and TensorFlow 2.1: keep to their syntax and APIs.
"""
import contextlib
import math
import os
import tempfile
import threading

import tensorflow as tf
from starlette.responses import JSONResponse

# Session/graph code runs in graph mode on every thread, as under TensorFlow 1.
tf.compat.v1.disable_eager_execution()

SESSION_STRATEGIES = ("per_request", "once_per_thread")
SIGNATURE = "predict"  # signature key of the SavedModel (scripts/export_model.py)
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
FLOAT32_MAX = 3.4028234663852886e38  # larger values would silently become inf in float32


class PythonPredictor:
    def __init__(self, config):
        strategy = config.get("session_strategy")
        if strategy not in SESSION_STRATEGIES:
            raise ValueError("config session_strategy must be one of %s, got %r"
                             % (", ".join(SESSION_STRATEGIES), strategy))
        if "model" not in config:
            raise ValueError("config model is required: a SavedModel folder or s3:// URL")

        # The model gets its own graph and session, never the global default graph.
        self.graph = tf.Graph()
        self.sess = tf.compat.v1.Session(graph=self.graph, config=session_config(config))
        meta_graph = tf.compat.v1.saved_model.loader.load(
            self.sess, [tf.compat.v1.saved_model.tag_constants.SERVING],
            local_model_dir(config["model"]))
        signature = meta_graph.signature_def[SIGNATURE]
        tensor = self.graph.get_tensor_by_name
        self.inputs = {key: tensor(info.name) for key, info in signature.inputs.items()}
        self.outputs = {key: tensor(info.name) for key, info in signature.outputs.items()}
        self.labels = [label.decode() for label in self.sess.run(self.outputs["classes"])]

        # Ops added per request pile up for ever (memory and time on every call): once the
        # graph is final, adding one raises "Graph is finalized and cannot be modified".
        if config.get("finalize_graph", True):
            self.graph.finalize()

        if strategy == "per_request":
            self.run_with_defaults = self._run_per_request
        else:
            self.run_with_defaults = self._run_once_per_thread

    def predict(self, payload):
        features, error = parse_features(payload)
        if error:
            return JSONResponse({"error": error}, status_code=400)
        return self.run_with_defaults(self.predict_on_sess, features)

    def predict_on_sess(self, sess, features):
        """Your inference code. It runs with sess.graph and sess as TensorFlow's defaults,
        so get_default_session(), Tensor.eval() and new ops all work (new ops need
        finalize_graph: false; better build them once in __init__)."""
        probabilities = sess.run(self.outputs["probabilities"],
                                 {self.inputs["features"]: [features]})[0]
        best = int(probabilities.argmax())
        return {"label": self.labels[best],
                "probabilities": {label: float(p) for label, p in zip(self.labels, probabilities)}}

    def _run_per_request(self, fn, features):
        with self.sess.graph.as_default(), self.sess.as_default():
            return fn(self.sess, features)

    def _run_once_per_thread(self, fn, features):
        if _this_thread.session is not self.sess:
            enter_defaults_for_this_thread(self.sess)
        return fn(self.sess, features)


# once_per_thread's memory: what each thread has entered. sess.__enter__() cannot serve here:
# it works once per Session, not once per thread ("Session context managers are not
# re-entrant"), while graph.as_default() and sess.as_default() can be entered on every thread.
class _ThisThread(threading.local):
    session = None  # the session this thread has entered as its default
    entered = None  # the _EnteredDefaults that keeps it entered


_this_thread = _ThisThread()


def enter_defaults_for_this_thread(sess):
    if _this_thread.entered is not None:
        _this_thread.entered.close()  # another session's, entered earlier on this thread
    _this_thread.entered = _EnteredDefaults(sess)
    _this_thread.session = sess


class _EnteredDefaults(object):
    """sess.graph and sess entered as this thread's defaults, kept until the thread ends."""

    def __init__(self, sess):
        self.contexts = [sess.graph.as_default(), sess.as_default()]
        for context in self.contexts:
            context.__enter__()

    def close(self):
        for context in reversed(self.contexts):
            with contextlib.suppress(Exception):  # see __del__
                context.__exit__(None, None, None)
        self.contexts = []

    # A thread's locals are released by the thread itself as it ends, after TensorFlow's
    # own per-thread stacks are gone: closing here just finishes the contexts quietly
    # instead of letting the garbage collector close them and print errors.
    __del__ = close


def parse_features(payload):
    """(features, None) for a valid payload, else (None, a message naming the problem)."""
    if not isinstance(payload, dict):
        return None, "payload must be a JSON object with the fields " + ", ".join(FEATURES)
    unknown = sorted(set(payload) - set(FEATURES))
    if unknown:
        return None, "unknown field %s (expected %s)" % (", ".join(unknown), ", ".join(FEATURES))
    features = []
    for name in FEATURES:
        if name not in payload:
            return None, "missing field %s" % name
        value = payload[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, "field %s must be a number, got %s" % (name, json_type(value))
        if isinstance(value, float) and not math.isfinite(value):
            return None, "field %s must be a finite number, got %s" % (name, value)
        if abs(value) > FLOAT32_MAX:
            return None, "field %s is out of the float32 range" % name
        features.append(float(value))
    return features, None


def json_type(value):
    names = {str: "a string", list: "an array", dict: "an object", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def session_config(config):
    """TensorFlow's session options, from optional keys of the API's config:

    inter_op_parallelism_threads  the pool that runs a graph's ops; -1 runs them on the
                                  predict thread that calls sess.run, which saves two
                                  thread hand-offs per call (best for small models)
    intra_op_parallelism_threads  threads within one op (a large matmul); 0 = one per core
    gpu_memory_fraction           on a GPU, this process's share of its memory, so that
                                  several workers_per_replica can share one GPU
    """
    session_conf = tf.compat.v1.ConfigProto()
    for key, lowest in (("inter_op_parallelism_threads", -1), ("intra_op_parallelism_threads", 0)):
        value = config.get(key)
        if value is None:
            continue  # TensorFlow's default: 0, as many as there are cores
        if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
            raise ValueError("config %s must be an integer >= %d, got %r" % (key, lowest, value))
        setattr(session_conf, key, value)
    fraction = config.get("gpu_memory_fraction")
    if fraction is not None:
        session_conf.gpu_options.per_process_gpu_memory_fraction = float(fraction)
    return session_conf


def local_model_dir(location):
    """A folder relative to the project dir (Cortex's cwd), or an s3:// prefix, downloaded."""
    if not location.startswith("s3://"):
        return os.path.abspath(location)
    import boto3  # in the Cortex image; only needed for s3:// models

    bucket, _, prefix = location[len("s3://"):].partition("/")
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    target = tempfile.mkdtemp(prefix="model-")
    s3 = boto3.client("s3")
    found = False
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            path = os.path.join(target, obj["Key"][len(prefix):])
            if obj["Key"].endswith("/"):
                continue  # a folder marker
            os.makedirs(os.path.dirname(path), exist_ok=True)
            s3.download_file(bucket, obj["Key"], path)
            found = True
    if not found:
        raise ValueError("no model files under %s" % location)
    return target
