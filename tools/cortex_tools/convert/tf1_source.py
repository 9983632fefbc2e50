"""TF1 sources: a SavedModel written by SavedModelBuilder, a checkpoint (PREFIX.meta and its
variables) and a frozen GraphDef, each read into a graph and session of their own as
tf.compat.v1 code reads them, then frozen with graph_util.convert_variables_to_constants
(reference and resource variables alike) and cut down to what the outputs need.

Names: a SavedModel's signature keys (the signature named, else its only one, else
serving_default, as tf_session picks). A checkpoint or a graph has no signature: its
inputs are the --inputs named, else its placeholders; its outputs the --outputs named,
else the tensors nothing consumes (its sinks, less saving and training ops); each goes by
its node's name.
"""

from __future__ import annotations

import numpy as np

from cortex_tools.convert.errors import ConvertError
from cortex_tools.convert.source import Source, key_of

# Sinks that are no model output: variables, their initialisation, saving, training.
NOT_OUTPUTS = ("NoOp", "Assign", "AssignAdd", "AssignSub", "AssignVariableOp", "SaveV2",
               "Save", "RestoreV2", "MergeV2Checkpoints", "VariableV2", "VarHandleOp",
               "Placeholder", "PlaceholderWithDefault", "Const", "VarIsInitializedOp",
               "IsVariableInitialized", "DisableCopyOnRead")
TRAINING_PREFIXES = ("Apply", "ResourceApply", "SparseApply", "ResourceSparseApply")


def from_saved_model(kind, location: str, signature: str | None) -> Source:
    import tensorflow as tf

    graph = tf.Graph()
    sess = tf.compat.v1.Session(graph=graph)
    with graph.as_default():
        try:
            meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], kind.path)
        except RuntimeError as e:
            raise ConvertError(f"SRC {location} has no MetaGraph tagged 'serve' ({e}); "
                               "export it with tags=['serve']") from e
    signatures = {key: value for key, value in meta.signature_def.items()
                  if not key.startswith("__")}
    name = _signature_name(signatures, signature, location)
    # A signature's maps have no order of their own (protobuf maps): by key, so that what
    # make convert prints is the same on every run.
    inputs = {key: info.name for key, info in sorted(signatures[name].inputs.items())}
    outputs = {key: info.name for key, info in sorted(signatures[name].outputs.items())}
    return _frozen(kind.name, location, sess, inputs, outputs)


def from_checkpoint(kind, location: str, inputs: list[str] | None,
                    outputs: list[str] | None) -> Source:
    import tensorflow as tf

    graph = tf.Graph()
    sess = tf.compat.v1.Session(graph=graph)
    with graph.as_default():
        saver = tf.compat.v1.train.import_meta_graph(kind.path + ".meta", clear_devices=True)
        if saver is not None:
            try:
                saver.restore(sess, kind.path)
            except (tf.errors.OpError, ValueError) as e:
                raise ConvertError(f"SRC {location} cannot be restored: "
                                   f"{type(e).__name__}: {_first_line(e)}") from e
    return _frozen(kind.name, location, sess, *_names(graph, inputs, outputs, location))


def from_frozen_graph(kind, location: str, inputs: list[str] | None,
                      outputs: list[str] | None) -> Source:
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    try:
        with open(kind.path, "rb") as f:
            graph_def.ParseFromString(f.read())
    except Exception as e:  # protobuf's DecodeError
        raise ConvertError(f"SRC {location} is not a GraphDef ({e}); expected a .pb written "
                           "with graph_def.SerializeToString()") from e
    if not graph_def.node:
        raise ConvertError(f"SRC {location} holds no graph nodes: is it a GraphDef?")
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    sess = tf.compat.v1.Session(graph=graph)
    return _frozen(kind.name, location, sess, *_names(graph, inputs, outputs, location))


def _signature_name(signatures: dict, wanted: str | None, location: str) -> str:
    if wanted:
        if wanted not in signatures:
            raise ConvertError(f"SRC {location} has no signature {wanted!r}; it has: "
                               f"{', '.join(sorted(signatures)) or 'none'}")
        return wanted
    if len(signatures) == 1:
        return next(iter(signatures))
    if "serving_default" in signatures:
        return "serving_default"
    if not signatures:
        raise ConvertError(f"SRC {location} has no signature: export it with a "
                           "signature_def_map (predict_signature_def)")
    raise ConvertError(f"SRC {location} has several signatures ({', '.join(sorted(signatures))})"
                       f" and none is serving_default: name one, e.g. make convert SRC={location} "
                       f"SIGNATURE={sorted(signatures)[0]}")


def _names(graph, inputs: list[str] | None, outputs: list[str] | None,
           location: str) -> tuple[dict[str, str], dict[str, str]]:
    """{name: tensor name} of the inputs and outputs named, else found."""
    def tensor(name: str, what: str) -> str:
        full = name if ":" in name else name + ":0"
        try:
            return graph.get_tensor_by_name(full).name
        except (KeyError, ValueError):
            raise ConvertError(f"SRC {location} has no tensor {full} (--{what})") from None

    operations = graph.get_operations()
    if inputs:
        found_inputs = [tensor(name, "inputs") for name in inputs]
    else:
        found_inputs = [op.outputs[0].name for op in operations if op.type == "Placeholder"
                        and not op.name.startswith("save/")]
    if outputs:
        found_outputs = [tensor(name, "outputs") for name in outputs]
    else:
        consumed = {t.name for op in operations for t in op.inputs}
        found_outputs = [t.name for op in operations if _may_be_output(op)
                         for t in op.outputs if t.name not in consumed]
    if not found_outputs:
        raise ConvertError(f"SRC {location}: no output found (no tensor that nothing "
                           f"consumes): name them: make convert SRC={location} OUTPUTS=NODE,...")
    return ({key_of(name): name for name in found_inputs},
            {key_of(name): name for name in found_outputs})


def _may_be_output(op) -> bool:
    return (op.type not in NOT_OUTPUTS and not op.type.startswith(TRAINING_PREFIXES)
            and not op.name.startswith("save/") and bool(op.outputs)
            and op.outputs[0].dtype.name not in ("resource", "variant")
            and not op.outputs[0].dtype.name.endswith("_ref"))


def _frozen(kind: str, location: str, sess, inputs: dict[str, str],
            outputs: dict[str, str]) -> Source:
    import tensorflow as tf

    graph = sess.graph
    nodes = sorted({name.split(":")[0] for name in [*inputs.values(), *outputs.values()]})
    with graph.as_default():
        try:
            frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
                sess, graph.as_graph_def(), nodes)
        except Exception as e:
            raise ConvertError(f"SRC {location}: its variables cannot be frozen to "
                               f"constants: {type(e).__name__}: {_first_line(e)}") from e
    # What the outputs need, and the inputs even if an output does not need one of them.
    frozen = tf.compat.v1.graph_util.extract_sub_graph(frozen, nodes)
    for node in frozen.node:
        node.device = ""  # devices of where it was trained mean nothing on the image

    def run(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        values = sess.run(list(outputs.values()),
                          {inputs[key]: value for key, value in feed.items()})
        return dict(zip(outputs, (np.asarray(v) for v in values), strict=True))

    source = Source(kind, location, frozen, inputs, outputs, run)
    source.keep_alive = sess
    return source


def _first_line(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error)
    text = text.strip()
    return text.splitlines()[0] if text else type(error).__name__
