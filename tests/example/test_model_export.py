"""The bundled model: re-created by its script, and loadable by TensorFlow 2.1."""

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from example import export_model

# Every op of the committed graph must exist in TensorFlow 2.1 (the Cortex 0.17 image),
# which cannot run here. These all date from TensorFlow 1.x.
TF_2_1_OPS = {
    "AddV2", "Assign", "Const", "Identity", "MatMul", "MergeV2Checkpoints", "NoOp", "Pack",
    "Placeholder", "PlaceholderWithDefault", "RealDiv", "Relu", "RestoreV2", "SaveV2", "Select",
    "ShardedFilename", "Softmax", "StaticRegexFullMatch", "StringJoin", "Sub", "VariableV2",
}


def saved_graph(model_dir):
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((model_dir / "saved_model.pb").read_bytes())
    (meta_graph,) = saved.meta_graphs
    return meta_graph


def probabilities(model_dir, rows):
    graph = tf.Graph()
    with tf.compat.v1.Session(graph=graph) as sess:
        meta_graph = tf.compat.v1.saved_model.loader.load(sess, ["serve"], str(model_dir))
        signature = meta_graph.signature_def[export_model.SIGNATURE]
        return sess.run(signature.outputs["probabilities"].name,
                        {signature.inputs["features"].name: rows})


@pytest.fixture(scope="module")
def reexported(tmp_path_factory, root):
    out = tmp_path_factory.mktemp("export") / "model"
    done = subprocess.run(
        [sys.executable, "example/export_model.py", "--data", "example/iris.csv",
         "--out", str(out)],
        cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "held-out accuracy" in done.stdout
    return out


def test_export_script_recreates_the_committed_model(reexported, root):
    x, _ = export_model.load_iris(root / "example" / "iris.csv")
    committed = probabilities(root / "model", x)
    again = probabilities(reexported, x)
    assert (committed.argmax(axis=1) == again.argmax(axis=1)).all()
    np.testing.assert_allclose(committed, again, rtol=0, atol=1e-6)


def test_committed_model_has_the_named_signature_and_only_tf_2_1_ops(root):
    meta_graph = saved_graph(root / "model")
    assert list(meta_graph.signature_def) == [export_model.SIGNATURE]
    signature = meta_graph.signature_def[export_model.SIGNATURE]
    assert set(signature.inputs) == {"features"}
    assert set(signature.outputs) == {"logits", "probabilities", "classes"}
    assert {node.op for node in meta_graph.graph_def.node} <= TF_2_1_OPS


def test_no_optimizer_or_training_state_is_served(root):
    names = [node.name for node in saved_graph(root / "model").graph_def.node]
    assert not [n for n in names if "Adam" in n or "gradients" in n or "labels" in n]


def test_iris_csv_is_the_150_row_data_set(root):
    x, y = export_model.load_iris(root / "example" / "iris.csv")
    assert x.shape == (150, 4)
    assert np.bincount(y).tolist() == [50, 50, 50]
