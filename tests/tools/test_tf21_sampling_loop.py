"""`make check`'s TF 2.1.0 check of a predictor that drives the session itself in a loop
(tests/tools/sampler.py): each Session.run is replayed with what it was fed at the time,
and compared with what it returned at the time, however the loop changes its feed list
or the fetched arrays afterwards."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np

from cortex_tools import project
from tests.tools import sampler

AGREES = re.compile(rf"^api {sampler.API}: loads and agrees in TensorFlow 2\.1\.0 "
                    r"\(max \|diff\| (0|\de-\d+)\)$")


def test_a_sampling_loop_that_grows_its_feed_list_agrees_in_tf21(prepared, tmp_path):
    sampler.write_project(tmp_path)
    done = subprocess.run([sys.executable, "-m", "cortex_tools.tf21", "check"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert AGREES.match(done.stdout.strip()), done.stdout


def test_each_recorded_run_holds_its_own_feed_and_results():
    """One call per step, each fed a list, an array and bytes that the caller changes after
    the call, and each returning an array the caller changes in place."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        tokens = tf.compat.v1.placeholder(tf.int32, [1, None], name="tokens")
        scale = tf.compat.v1.placeholder(tf.float32, [2], name="scale")
        text = tf.compat.v1.placeholder(tf.string, [None], name="text")
        total = tf.identity(tf.cast(tf.reduce_sum(tokens), tf.float32) * scale, name="total")
        length = tf.strings.length(text, name="length")
        ended = tf.strings.join([text[0], "\0"], name="ended")  # a string scalar
    context, factors, words = [1], np.array([1.0, 2.0], np.float32), [b"a\x00"]
    with tf.compat.v1.Session(graph=graph) as sess, \
            project.recorded_session_runs() as runs:
        for step in range(3):
            out = sess.run([total, length, ended], {tokens: [context], scale: factors,
                                                    text: words})
            out[0] *= 0  # in place, on what sess.run returned
            context.append(step + 2)
            factors += 1
            words.append(b"b")
    assert [run.feed["tokens:0"].tolist() for run in runs] == [[[1]], [[1, 2]], [[1, 2, 3]]]
    assert [run.feed["scale:0"].tolist() for run in runs] == [[1, 2], [2, 3], [3, 4]]
    assert runs[0].feed["text:0"].tolist() == [b"a\x00"]  # bytes kept whole, NUL and all
    assert [run.results[0].tolist() for run in runs] == [[1, 2], [6, 9], [18, 24]]
    assert [run.results[1].tolist() for run in runs] == [[2], [2, 1], [2, 1, 1]]
    assert runs[0].results[2][()] == b"a\x00\x00"
