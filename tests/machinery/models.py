"""Small TF1 models written in every format tf_session loads, for the machinery's tests.

The model has two inputs of different dtypes, as users' models do: `x` (float32, 3 per
example) and `ids` (int64, one per example); its output `y` (float32, 2 per example) is
x @ W + ids * c with W a variable, and `scale` a constant without a batch axis.
Every format comes with the predictor.config it needs (model, and inputs/outputs where the
format has no signature).
"""

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

tf.compat.v1.disable_eager_execution()

WEIGHTS = np.array([[0.5, -1.0], [0.25, 2.0], [-0.75, 0.1]], np.float32)
ID_SCALE = np.float32(0.01)
TENSORS = {"x": "input/x:0", "ids": "input/ids:0", "y": "output/y:0", "scale": "scale:0",
           "three": "three:0"}


def expected_y(x: Any, ids: Any) -> np.ndarray:
    """What the model computes, in NumPy: the reference answers."""
    x = np.asarray(x, np.float32).reshape(-1, 3)
    return x @ WEIGHTS + np.asarray(ids, np.float32).reshape(-1, 1) * ID_SCALE


def build(graph: tf.Graph) -> "dict[str, tf.Tensor]":
    """The model in `graph`: its tensors by name."""
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="input/x")
        ids = tf.compat.v1.placeholder(tf.int64, [None], name="input/ids")
        weights = tf.compat.v1.Variable(WEIGHTS, name="weights", use_resource=False)
        shift = tf.cast(ids, tf.float32)[:, None] * ID_SCALE
        y = tf.identity(tf.matmul(x, weights) + shift, name="output/y")
        scale = tf.constant([1.0, 2.0], name="scale")
        three = tf.constant(3.0, name="three")
    return {"x": x, "ids": ids, "y": y, "scale": scale, "three": three}


class Written:
    """A model on disk and the predictor.config that serves it: its kind, its location
    (the config's `model`), the config's other keys, and the files an upload to S3 takes."""

    def __init__(self, kind: str, location: str, config: "dict[str, Any] | None" = None,
                 files: "list[Path] | None" = None) -> None:
        self.kind, self.location = kind, location
        self.config = {} if config is None else config
        self.files = [] if files is None else files


def _session(graph: tf.Graph) -> tf.compat.v1.Session:
    sess = tf.compat.v1.Session(graph=graph)
    with graph.as_default():
        sess.run(tf.compat.v1.global_variables_initializer())
    return sess


def _mapping() -> "dict[str, dict[str, str]]":
    return {"inputs": {"x": TENSORS["x"], "ids": TENSORS["ids"]},
            "outputs": {"y": TENSORS["y"], "scale": TENSORS["scale"], "three": TENSORS["three"]}}


def saved_model(dest: Path, signatures: "tuple[str, ...]" = ("serving_default",)) -> Written:
    """A SavedModel (tag serve) with the given signature keys, each the same x, ids -> y."""
    graph = tf.Graph()
    tensors = build(graph)
    with graph.as_default(), _session(graph) as sess:
        signature = tf.compat.v1.saved_model.signature_def_utils.predict_signature_def(
            inputs={"x": tensors["x"], "ids": tensors["ids"]},
            outputs={"y": tensors["y"], "scale": tensors["scale"]})
        builder = tf.compat.v1.saved_model.Builder(str(dest))
        builder.add_meta_graph_and_variables(
            sess, [tf.compat.v1.saved_model.tag_constants.SERVING],
            signature_def_map={key: signature for key in signatures}, strip_default_attrs=True)
        builder.save()
    return Written("SavedModel", str(dest), files=_files(dest))


def frozen_graph(dest: Path) -> Written:
    """The graph with its variables made constants, as a GraphDef .pb file."""
    graph = tf.Graph()
    build(graph)
    with graph.as_default(), _session(graph) as sess:
        frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), ["output/y", "scale", "three"])
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(frozen.SerializeToString())
    return Written("frozen graph", str(dest), config=_mapping(), files=[dest])


def checkpoint(folder: Path, prefix_name: str = "model") -> Written:
    """A TF1 checkpoint: folder/checkpoint, folder/PREFIX.meta, .index and .data-*."""
    graph = tf.Graph()
    build(graph)
    with graph.as_default(), _session(graph) as sess:
        tf.compat.v1.train.Saver().save(sess, str(folder / prefix_name))
    return Written("checkpoint", str(folder), config=_mapping(), files=_files(folder))


def moved(written: Written, new_folder: Path) -> Written:
    """The same model after its folder moved: a checkpoint's `checkpoint` file still names
    the absolute paths where it was saved."""
    old = Path(written.location)
    shutil.move(str(old), str(new_folder))
    return Written(written.kind, str(new_folder), dict(written.config), _files(new_folder))


def _files(folder: Path) -> "list[Path]":
    return sorted(p for p in Path(folder).rglob("*") if p.is_file())


def all_formats(root: Path) -> "dict[str, Written]":
    """Every format tf_session loads, written under root."""
    formats = {
        "saved_model_other_signature": saved_model(root / "sm_other", ("other",)),
        "saved_model_serving_default": saved_model(root / "sm_default", ("serving_default",)),
        "frozen_graph": frozen_graph(root / "frozen" / "model.pb"),
        "checkpoint_folder": checkpoint(root / "ckpt_folder"),
    }
    prefix = checkpoint(root / "ckpt_prefix", "model.ckpt-100")
    formats["checkpoint_prefix"] = Written(
        "checkpoint", str(root / "ckpt_prefix" / "model.ckpt-100"), prefix.config, prefix.files)
    formats["checkpoint_moved"] = moved(checkpoint(root / "ckpt_saved_here"),
                                        root / "ckpt_moved_there")
    return formats
