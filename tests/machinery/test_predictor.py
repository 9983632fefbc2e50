"""predictor.py's own behaviour: answers, bad payloads, configuration, model locations."""

import json
import math
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import predictor as shipped
from example import export_model

VALID = {"sepal_length": 5.2, "sepal_width": 3.6, "petal_length": 1.4, "petal_width": 0.3}


@pytest.fixture(scope="module")
def iris(model_dir):
    return shipped.PythonPredictor({"model": model_dir, "session_strategy": "per_request"})


def test_sample_predicts_setosa_with_a_probability_per_class(iris, sample):
    assert sample == VALID  # Cortex's iris sample
    answer = iris.predict(sample)
    assert answer["label"] == "setosa"
    assert set(answer["probabilities"]) == {"setosa", "versicolor", "virginica"}
    assert math.isclose(sum(answer["probabilities"].values()), 1.0, rel_tol=1e-5)
    assert max(answer["probabilities"], key=answer["probabilities"].get) == "setosa"
    json.dumps(answer)  # Cortex sends it with json.dumps


def test_held_out_accuracy_is_at_least_0_9(iris, root):
    x, y = export_model.load_iris(root / "example" / "iris.csv")
    _, held_out = export_model.split(y)
    predicted = [iris.predict(dict(zip(shipped.FEATURES, map(float, row), strict=True)))["label"]
                 for row in x[held_out]]
    truth = [export_model.CLASSES[label] for label in y[held_out]]
    accuracy = np.mean(np.array(predicted) == np.array(truth))
    assert len(held_out) == 30 and accuracy >= 0.9


def test_integers_are_numbers_too(iris):
    assert iris.predict({**VALID, "sepal_length": 5})["label"] == "setosa"


BAD_PAYLOADS = [
    ([1, 2, 3, 4], "payload must be a JSON object with the fields sepal_length"),
    ("5.2,3.6,1.4,0.3", "payload must be a JSON object"),
    (b'{"sepal_length": 5.2}', "payload must be a JSON object"),
    (None, "payload must be a JSON object"),
    ({k: v for k, v in VALID.items() if k != "petal_width"}, "missing field petal_width"),
    ({**VALID, "colour": "blue"}, "unknown field colour (expected sepal_length, "),
    ({**VALID, "sepal_width": "3.6"}, "field sepal_width must be a number, got a string"),
    ({**VALID, "sepal_width": None}, "field sepal_width must be a number, got null"),
    ({**VALID, "sepal_width": True}, "field sepal_width must be a number, got a boolean"),
    ({**VALID, "sepal_width": [3.6]}, "field sepal_width must be a number, got an array"),
    ({**VALID, "petal_length": float("nan")},
     "field petal_length must be a finite number, got nan"),
    ({**VALID, "petal_length": float("inf")},
     "field petal_length must be a finite number, got inf"),
    ({**VALID, "petal_length": -float("inf")}, "must be a finite number, got -inf"),
    ({**VALID, "petal_length": 1e39}, "field petal_length is out of the float32 range"),
    ({**VALID, "petal_length": 10**400}, "field petal_length is out of the float32 range"),
]


@pytest.mark.parametrize(("payload", "message"), BAD_PAYLOADS)
def test_bad_payload_gets_400_naming_the_problem(iris, payload, message):
    response = iris.predict(payload)
    assert response.status_code == 400
    assert response.media_type == "application/json"
    body = json.loads(response.body)
    assert set(body) == {"error"}
    assert message in body["error"]
    assert "Traceback" not in body["error"]


@pytest.mark.parametrize("strategy", [None, "", "fast", "PER_REQUEST"])
def test_missing_or_unknown_strategy_fails_naming_the_allowed_values(model_dir, strategy):
    config = {"model": model_dir}
    if strategy is not None:
        config["session_strategy"] = strategy
    expected = f"session_strategy must be one of per_request, once_per_thread, got {strategy!r}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        shipped.PythonPredictor(config)


def test_missing_model_fails_with_a_clear_message():
    with pytest.raises(ValueError, match="config model is required"):
        shipped.PythonPredictor({"session_strategy": "per_request"})


def test_model_path_is_relative_to_the_project_dir(root, monkeypatch, sample):
    monkeypatch.chdir(root)  # Cortex runs the predictor with the project dir as cwd
    loaded = shipped.PythonPredictor({"model": "model", "session_strategy": "once_per_thread"})
    assert loaded.predict(sample)["label"] == "setosa"


def test_model_gets_its_own_graph_not_the_global_default(iris):
    import tensorflow as tf

    assert iris.graph is not tf.compat.v1.get_default_graph()
    assert iris.sess.graph is iris.graph


# --- session options: TensorFlow's thread pools ---------------------------------------------


def threads_running_ops(config):
    """The threads a graph's ops ran on, under session_config(config): a py_func op notes
    the thread it runs on, over a few sess.run calls made from this thread."""
    import tensorflow as tf

    seen = set()

    def note_thread():
        seen.add(threading.get_ident())
        return np.float32(0)

    graph = tf.Graph()
    with graph.as_default():
        op = tf.compat.v1.py_func(note_thread, [], tf.float32)
    with tf.compat.v1.Session(graph=graph, config=shipped.session_config(config)) as sess:
        for _ in range(5):
            sess.run(op)
    return seen


def test_inter_op_minus_one_runs_the_graph_on_the_calling_thread():
    this_thread = threading.get_ident()
    assert threads_running_ops({"inter_op_parallelism_threads": -1}) == {this_thread}
    # TensorFlow's default hands the ops to its own pool: the hand-off -1 saves.
    assert this_thread not in threads_running_ops({})


def test_session_options_reach_the_session_and_answers_do_not_change(model_dir, sample, iris):
    tuned = shipped.PythonPredictor({"model": model_dir, "session_strategy": "once_per_thread",
                                     "inter_op_parallelism_threads": -1,
                                     "intra_op_parallelism_threads": 1})
    assert tuned.sess._config.inter_op_parallelism_threads == -1
    assert tuned.sess._config.intra_op_parallelism_threads == 1
    assert tuned.predict(sample) == iris.predict(sample)


@pytest.mark.parametrize(("key", "value", "lowest"), [
    ("inter_op_parallelism_threads", -2, -1),
    ("inter_op_parallelism_threads", "4", -1),
    ("inter_op_parallelism_threads", True, -1),
    ("intra_op_parallelism_threads", -1, 0),
    ("intra_op_parallelism_threads", 1.5, 0),
])
def test_bad_session_thread_counts_fail_naming_the_key(model_dir, key, value, lowest):
    expected = f"config {key} must be an integer >= {lowest}, got {value!r}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        shipped.PythonPredictor({"model": model_dir, "session_strategy": "per_request",
                                 key: value})


# --- s3:// model locations, against a real S3-compatible server on loopback ---------------


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    """moto's standalone S3 server; ready once it prints the address it listens on."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        for line in server.stdout:
            found = re.search(r"Running on (http://127\.0\.0\.1:\d+)", line)
            if found:
                yield found.group(1)
                break
        else:
            pytest.fail("moto_server exited before it was ready")
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def s3(s3_server, monkeypatch):
    import boto3

    for name, value in {"AWS_ENDPOINT_URL": s3_server, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"
                        }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    if "models" not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket="models")
    return client


def test_model_from_s3(s3, model_dir, sample):
    for path in Path(model_dir).rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), "models", "iris/1/" + path.relative_to(model_dir).as_posix())
    s3.put_object(Bucket="models", Key="iris/1/variables/")  # a folder marker, as consoles make
    loaded = shipped.PythonPredictor(
        {"model": "s3://models/iris/1/", "session_strategy": "per_request"})
    assert loaded.predict(sample)["label"] == "setosa"


def test_model_from_an_empty_s3_prefix_fails_clearly(s3):
    with pytest.raises(ValueError, match="no model files under s3://models/nothing-here"):
        shipped.PythonPredictor(
            {"model": "s3://models/nothing-here", "session_strategy": "per_request"})
