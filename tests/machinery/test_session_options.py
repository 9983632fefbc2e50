"""TensorFlow's session options from predictor.config: they reach the session, and
inter_op_parallelism_threads: -1 runs a graph's ops on the thread that calls sess.run."""

import threading

import numpy as np
import tensorflow as tf

import tf_session
from tests.machinery.two_inputs import PythonPredictor, payloads


def threads_running_ops(config):
    """The threads a graph's ops ran on, under session_config(config): a py_func op notes
    the thread it runs on, over a few sess.run calls made from this thread."""
    seen = set()

    def note_thread():
        seen.add(threading.get_ident())
        return np.float32(0)

    graph = tf.Graph()
    with graph.as_default():
        op = tf.compat.v1.py_func(note_thread, [], tf.float32)
    with tf.compat.v1.Session(graph=graph, config=tf_session.session_config(config)) as sess:
        for _ in range(5):
            sess.run(op)
    return seen


def test_inter_op_minus_one_runs_the_graph_on_the_calling_thread():
    this_thread = threading.get_ident()
    assert threads_running_ops({"inter_op_parallelism_threads": -1}) == {this_thread}
    # TensorFlow's default hands the ops to its own pool: the hand-off -1 saves.
    assert this_thread not in threads_running_ops({})


def test_session_options_reach_the_session_and_answers_do_not_change(formats):
    model = formats["saved_model_serving_default"].location
    plain = PythonPredictor({"model": model, "session_strategy": "per_request"})
    tuned = PythonPredictor({"model": model, "session_strategy": "once_per_thread",
                             "inter_op_parallelism_threads": -1,
                             "intra_op_parallelism_threads": 1,
                             "gpu_memory_fraction": 0.5})
    options = tuned.model.sess._config
    assert (options.inter_op_parallelism_threads, options.intra_op_parallelism_threads) == (-1, 1)
    assert options.gpu_options.per_process_gpu_memory_fraction == 0.5
    for payload in payloads(10):
        assert tuned.predict(payload) == plain.predict(payload)
