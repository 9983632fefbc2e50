"""The converted model as a SavedModel, its proto written by hand.

One MetaGraphDef tagged "serve": the frozen, stripped graph and one signature,
serving_default, whose keys are the source's names. No variables, so no saver_def and no
variables/ folder: tf.compat.v1's loader (TF 2.1's too) then restores nothing and runs no
init op ("The specified SavedModel has no variables"). The stripped_op_list gives the
producer's defaults to TF 2.1's importer, as a SavedModelBuilder's does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

SERVING_DEFAULT = "serving_default"
PREDICT_METHOD = "tensorflow/serving/predict"


@dataclass(frozen=True)
class Tensor:
    name: str  # the signature's key
    tensor: str  # the graph's tensor name
    dtype: str  # "float32", "string", ...
    shape: tuple[int | None, ...] | None  # None: unknown rank

    @property
    def shape_text(self) -> str:
        if self.shape is None:
            return "(unknown rank)"
        dims = ["None" if d is None else str(d) for d in self.shape]
        return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


@dataclass(frozen=True)
class Signature:
    inputs: list[Tensor]
    outputs: list[Tensor]

    def tensor_names(self, kind: str) -> dict[str, str]:
        return {t.name: t.tensor for t in getattr(self, kind)}


def write(folder: str, graph_def, inputs: dict[str, str], outputs: dict[str, str]) -> Signature:
    """Write folder/saved_model.pb; the signature written."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import meta_graph

    graph = tf.Graph()
    with graph.as_default():
        # A copy: import_graph_def adds every default attribute to the GraphDef it is given,
        # in place, which would undo the stripping.
        copy = type(graph_def)()
        copy.CopyFrom(graph_def)
        tf.compat.v1.import_graph_def(copy, name="")
    saved_model = saved_model_pb2.SavedModel(saved_model_schema_version=1)
    meta = saved_model.meta_graphs.add()
    meta.meta_info_def.tags.append("serve")
    meta.meta_info_def.tensorflow_version = tf.__version__
    meta.meta_info_def.tensorflow_git_version = tf.version.GIT_VERSION
    meta.meta_info_def.stripped_op_list.CopyFrom(
        meta_graph.stripped_op_list_for_graph(graph_def))
    meta.graph_def.CopyFrom(graph_def)
    signature = meta.signature_def[SERVING_DEFAULT]
    signature.method_name = PREDICT_METHOD
    described = Signature([], [])
    for kind, names in (("inputs", inputs), ("outputs", outputs)):
        for key, tensor_name in names.items():
            tensor = graph.get_tensor_by_name(tensor_name)
            with graph.as_default():  # build_tensor_info refuses eager mode
                info = tf.compat.v1.saved_model.utils.build_tensor_info(tensor)
            getattr(signature, kind)[key].CopyFrom(info)
            shape = None if tensor.shape.rank is None else tuple(tensor.shape.as_list())
            getattr(described, kind).append(Tensor(key, tensor_name, tensor.dtype.name, shape))
    with open(os.path.join(folder, "saved_model.pb"), "wb") as f:
        f.write(saved_model.SerializeToString())
    return described
