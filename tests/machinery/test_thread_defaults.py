"""Each strategy gives every thread the model's graph and session as its defaults, and
only its own thread's entry counts: a fast guard (a second or so) against once_per_thread
remembering what was entered in one place shared by all threads."""

import threading

import pytest
import tensorflow as tf

import tf_session


@pytest.fixture(scope="module")
def model_dir(formats):
    return formats["saved_model_serving_default"].location


def defaults_seen(model):
    """What run_with_defaults shows fn on this thread: the default graph and session."""
    return model.run_with_defaults(
        lambda sess: (tf.compat.v1.get_default_graph(), tf.compat.v1.get_default_session()))


def on_new_thread(fn, *args):
    """fn(*args) on a thread of its own, started after every earlier one has ended."""
    result = []
    thread = threading.Thread(target=lambda: result.append(fn(*args)))
    thread.start()
    thread.join(timeout=30)
    return result[0]


@pytest.mark.parametrize("strategy", tf_session.SESSION_STRATEGIES)
def test_every_new_thread_gets_the_models_defaults_on_its_first_call(model_dir, strategy):
    model = tf_session.load_model({"model": model_dir, "session_strategy": strategy})
    expected = (model.graph, model.sess)
    assert [on_new_thread(defaults_seen, model) for _ in range(4)] == [expected] * 4
    assert defaults_seen(model) == expected  # and the thread that built it, later


def test_two_models_on_one_thread_each_get_their_own_defaults(model_dir):
    first, second = (tf_session.load_model({"model": model_dir,
                                            "session_strategy": "once_per_thread"})
                     for _ in range(2))

    def both():
        return [defaults_seen(first), defaults_seen(second), defaults_seen(first)]

    assert on_new_thread(both) == [(first.graph, first.sess), (second.graph, second.sess),
                                   (first.graph, first.sess)]


EXITS_AFTER_SERVING = """
import sys, threading
sys.path.insert(0, sys.argv[2])
import tf_session
model = tf_session.load_model({"model": sys.argv[1], "session_strategy": "once_per_thread"})
threads = [threading.Thread(target=model.run_with_defaults, args=(lambda sess: None,))
           for _ in range(3)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
model.run_with_defaults(lambda sess: None)  # the main thread keeps its entry to the end
print("served")
"""


def test_a_process_exits_quietly_after_threads_entered_once(model_dir, root):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", EXITS_AFTER_SERVING, model_dir, str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=120)
    assert result.returncode == 0 and result.stdout == "served\n", result.stderr
    assert "Exception ignored" not in result.stderr and "Traceback" not in result.stderr, \
        result.stderr
