"""The tensors a config's `inputs` and `outputs` may name, read from a local frozen graph or
checkpoint: its placeholders, and the tensors no op reads (its likely outputs), in the
words tf_session's start-up error uses for a name predictor.py reads and the config lacks
(Tensors._candidates). Only when `inputs` or `outputs` is missing: the graph is then read
with the local TensorFlow (imported here, on that path only: the other checks never
import it), so that the message names what to map."""

from __future__ import annotations

import os
from pathlib import Path

from .model_formats import CHECKPOINT, FROZEN_GRAPH

SHOWN = 8
# tf_session.NOT_OUTPUTS: ops whose unread outputs are no model output.
NOT_OUTPUTS = ("VariableV2", "Variable", "VarHandleOp", "AutoReloadVariable", "Placeholder",
               "NoOp", "Assign", "AssignVariableOp", "ReadVariableOp", "VarIsInitializedOp",
               "IsVariableInitialized", "SaveV2", "RestoreV2", "MergeV2Checkpoints")


def likely(kind: str, path: Path) -> dict[str, str]:
    """{"inputs": "its placeholders: ...", "outputs": "tensors no op reads: ..."} for the
    model at `path`; {} when it cannot be read (the build check or the start says why)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        graph = _graph(kind, path)
    except Exception:  # an unreadable model: its own error comes later, in its own words
        return {}
    operations = graph.get_operations()
    if not operations:  # no graph in that file: nothing to say about its tensors
        return {}
    placeholders = [op.outputs[0] for op in operations if op.type == "Placeholder"]
    unread = [t for op in operations if op.type not in NOT_OUTPUTS
              and not op.name.startswith("save/") for t in op.outputs if not t.consumers()]
    return {"inputs": f"its placeholders: {_listed(placeholders)}",
            "outputs": f"tensors no op reads: {_listed(unread)}"}


def _graph(kind: str, path: Path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        if kind == FROZEN_GRAPH:
            graph_def = tf.compat.v1.GraphDef()
            graph_def.ParseFromString(path.read_bytes())
            tf.compat.v1.import_graph_def(graph_def, name="")
        elif kind == CHECKPOINT:
            tf.compat.v1.train.import_meta_graph(str(_meta_file(path)), clear_devices=True)
    return graph


def _meta_file(path: Path) -> Path:
    """The .meta of a checkpoint folder (the prefix its `checkpoint` file names), of a
    prefix, or the .meta file itself."""
    if path.is_dir():
        from .model_formats import files_read

        return next(p for p in files_read(CHECKPOINT, path) if p.suffix == ".meta")
    return path if path.suffix == ".meta" else path.with_name(path.name + ".meta")


def _listed(tensors: list) -> str:
    shown = ", ".join(f"{t.name} {t.dtype.name} {_shape(t.shape)}" for t in tensors[:SHOWN])
    return (shown or "none") + (" ..." if len(tensors) > SHOWN else "")


def _shape(shape) -> str:
    if shape.rank is None:
        return "(any shape)"
    dims = ["any" if d is None else str(d) for d in shape.as_list()]
    return f"({', '.join(dims)}{',' if len(dims) == 1 else ''})"
