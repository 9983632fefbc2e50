"""The bundled iris example: its answers, its accuracy, and the unchanged predictor.py
serving the same model re-saved in every other format, locally and from S3, with config
changes only. `make remove-example` removes this folder with the example."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from example import export_model
from predictor import FIELDS, PythonPredictor

FORMAT_TENSORS = {"inputs": {"features": "features:0"},
                  "outputs": {"probabilities": "probabilities:0", "classes": "classes:0"}}


@pytest.fixture(scope="module")
def iris(model_dir):
    return PythonPredictor({"model": model_dir, "session_strategy": "per_request"})


def test_sample_predicts_setosa_with_a_probability_per_class(iris, sample):
    answer = iris.predict(sample)
    assert answer["label"] == "setosa"
    assert set(answer["probabilities"]) == {"setosa", "versicolor", "virginica"}
    assert math.isclose(sum(answer["probabilities"].values()), 1.0, rel_tol=1e-5)
    json.dumps(answer)  # Cortex sends it with json.dumps


def held_out(root):
    x, y = export_model.load_iris(root / "example" / "iris.csv")
    _, rows = export_model.split(y)
    payloads = [dict(zip(FIELDS, map(float, row), strict=True)) for row in x[rows]]
    return payloads, [export_model.CLASSES[label] for label in y[rows]]


def test_held_out_accuracy_is_at_least_0_9(iris, root):
    payloads, truth = held_out(root)
    predicted = [iris.predict(p)["label"] for p in payloads]
    assert len(truth) == 30 and np.mean(np.array(predicted) == np.array(truth)) >= 0.9


def test_integers_are_numbers_too(iris, sample):
    assert iris.predict({**sample, "sepal_length": 5})["label"] == "setosa"


# --- the same model in the other formats, served by the unchanged predictor.py --------------


@pytest.fixture(scope="module")
def resaved(model_dir, tmp_path_factory):
    """The bundled model re-saved: a frozen graph, a checkpoint, and a SavedModel whose only
    signature has another key; each with the config that serves it."""
    out = tmp_path_factory.mktemp("iris")
    graph = tf.Graph()
    with tf.compat.v1.Session(graph=graph) as sess:
        meta_graph = tf.compat.v1.saved_model.loader.load(sess, ["serve"], model_dir)
        signature = meta_graph.signature_def[export_model.SIGNATURE]
        frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), ["probabilities", "classes"])
        (out / "frozen.pb").write_bytes(frozen.SerializeToString())
        with graph.as_default():
            tf.compat.v1.train.Saver().save(sess, str(out / "ckpt" / "iris"))
    shutil.copytree(model_dir, out / "other_key")
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((out / "other_key" / "saved_model.pb").read_bytes())
    signatures = saved.meta_graphs[0].signature_def
    signatures["serving_default"].CopyFrom(signature)
    del signatures[export_model.SIGNATURE]
    (out / "other_key" / "saved_model.pb").write_bytes(saved.SerializeToString())
    return {
        "frozen graph": {"model": str(out / "frozen.pb"), **FORMAT_TENSORS},
        "checkpoint": {"model": str(out / "ckpt"), **FORMAT_TENSORS},
        "SavedModel": {"model": str(out / "other_key")},
    }


@pytest.mark.parametrize("kind", ["frozen graph", "checkpoint", "SavedModel"])
def test_the_unchanged_predictor_serves_every_format(iris, root, resaved, kind):
    served = PythonPredictor({**resaved[kind], "session_strategy": "once_per_thread"})
    assert served.model.files.kind == kind
    for payload in held_out(root)[0]:
        assert served.predict(payload) == iris.predict(payload)


def test_the_unchanged_predictor_serves_every_format_from_s3(s3, iris, sample, resaved):
    for kind, config in resaved.items():
        local = Path(config["model"])
        files = [local] if local.is_file() else [p for p in local.rglob("*") if p.is_file()]
        for path in files:
            relative = path.name if local.is_file() else path.relative_to(local).as_posix()
            s3.upload_file(str(path), "models", f"iris/{kind}/{relative}")
        url = f"s3://models/iris/{kind}/" + (local.name if local.is_file() else "")
        served = PythonPredictor({**config, "model": url, "session_strategy": "per_request"})
        assert served.predict(sample) == iris.predict(sample), kind


def test_every_iris_api_agrees_in_tf21_within_1e_6(root):
    """make check's TF 2.1.0 check: the iris probabilities (at most 1) differ by less
    than 1e-6 between TF 2.1.0 and the local TensorFlow, in every API of every config."""
    done = subprocess.run([sys.executable, "-m", "cortex_tools.tf21", "check"], cwd=root,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    found = [re.fullmatch(r"api (\S+): loads and agrees in TensorFlow 2\.1\.0 \(max \|diff\| "
                          r"(0|\de-\d+)\)", line) for line in done.stdout.splitlines()]
    assert found and all(found), done.stdout
    assert all(float(match.group(2)) < 1e-6 for match in found), done.stdout
