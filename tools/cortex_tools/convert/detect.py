"""Which kind of model SRC is, from its files alone (no TensorFlow import).

A SavedModel folder holds saved_model.pb: TensorFlow 2's tf.saved_model.save (Keras 3's
model.export() and Keras 2's model.save(dir) too) also writes its object graph, which
TF1's SavedModelBuilder never does. A Keras file ends in .keras, .h5 or .hdf5. A TF1
checkpoint is a folder with a `checkpoint` file, a PREFIX.meta, or a PREFIX with
PREFIX.meta beside it. Any other file is read as a GraphDef.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

TF2_SAVED_MODEL = "TF2 SavedModel"
TF1_SAVED_MODEL = "TF1 SavedModel"
KERAS_FILE = "Keras file"
CHECKPOINT = "TF1 checkpoint"
FROZEN_GRAPH = "frozen GraphDef"
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")

ACCEPTED = ("a SavedModel folder, a Keras file (.keras, .h5), a TF1 checkpoint (a folder "
            "holding `checkpoint`, or PREFIX beside PREFIX.meta) or a frozen GraphDef (.pb)")


@dataclass(frozen=True)
class Kind:
    name: str  # one of the constants above
    path: str  # the folder, the file, or a checkpoint's prefix
    keras2: bool = False  # a TF2 SavedModel written by Keras 2 (keras_metadata.pb)


def detect(src: str) -> Kind:
    from cortex_tools.convert.errors import ConvertError

    path = os.path.abspath(src)
    if os.path.isdir(path):
        names = set(os.listdir(path))
        if names & {"saved_model.pb", "saved_model.pbtxt"}:
            tf2 = _has_object_graph(path)
            return Kind(TF2_SAVED_MODEL if tf2 else TF1_SAVED_MODEL, path,
                        keras2="keras_metadata.pb" in names)
        if "checkpoint" in names:
            return Kind(CHECKPOINT, _prefix_of_folder(src, path))
        shown = ", ".join(sorted(names)[:8]) or "nothing"
        raise ConvertError(f"SRC {src} is a folder holding {shown}: expected {ACCEPTED}")
    if os.path.isfile(path):
        if path.endswith(KERAS_SUFFIXES):
            return Kind(KERAS_FILE, path)
        if os.path.basename(path) in ("saved_model.pb", "saved_model.pbtxt"):
            raise ConvertError(f"SRC {src} is a SavedModel's own file: name its folder, "
                               f"SRC={os.path.dirname(src) or '.'}")
        if path.endswith(".meta"):
            return Kind(CHECKPOINT, _checked_prefix(src, path[: -len(".meta")]))
        if path.endswith((".index", ".data-00000-of-00001")) or ".data-" in path:
            prefix = path.rsplit(".", 1)[0] if path.endswith(".index") else \
                path.split(".data-")[0]
            return Kind(CHECKPOINT, _checked_prefix(src, prefix))
        return Kind(FROZEN_GRAPH, path)
    if glob.glob(glob.escape(path) + ".*"):
        return Kind(CHECKPOINT, _checked_prefix(src, path))
    raise ConvertError(f"SRC {src}: nothing there; expected {ACCEPTED}")


def _has_object_graph(path: str) -> bool:
    from tensorflow.core.protobuf import saved_model_pb2

    binary = os.path.join(path, "saved_model.pb")
    if not os.path.isfile(binary):
        return False  # a .pbtxt: written by hand or by TF1 tools
    saved_model = saved_model_pb2.SavedModel()
    with open(binary, "rb") as f:
        saved_model.ParseFromString(f.read())
    return any(len(meta.object_graph_def.nodes) for meta in saved_model.meta_graphs)


def _prefix_of_folder(src: str, folder: str) -> str:
    from cortex_tools.convert.errors import ConvertError

    with open(os.path.join(folder, "checkpoint"), encoding="utf-8") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "model_checkpoint_path":
                # Only the file name counts: the file may hold where it was saved.
                name = os.path.basename(value.strip().strip('"'))
                return _checked_prefix(src, os.path.join(folder, name))
    raise ConvertError(f"SRC {src}: its `checkpoint` file names no checkpoint")


def _checked_prefix(src: str, prefix: str) -> str:
    from cortex_tools.convert.errors import ConvertError

    if not os.path.isfile(prefix + ".meta"):
        raise ConvertError(
            f"SRC {src}: {os.path.basename(prefix)}.meta is missing, so the checkpoint holds "
            "no graph (tf.train.Checkpoint writes none): save the model with "
            "tf.saved_model.save or Keras's model.export(), then convert that")
    if not os.path.isfile(prefix + ".index"):
        raise ConvertError(f"SRC {src}: {os.path.basename(prefix)}.index (the variables) "
                           "must be beside its .meta")
    return prefix
