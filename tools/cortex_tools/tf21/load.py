"""The three model formats as the image's predictor loads them in TensorFlow 2.1.

What tf_session.py calls on the image, and what each does there (read in the wheel's own
sources, tensorflow_core/python/...):

- SavedModel: ``tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)``. Its
  SavedModelLoader picks the MetaGraphDef whose tags equal {"serve"} and imports it with
  ``saver._import_meta_graph_with_return_elements`` -> ``meta_graph.import_scoped_meta_graph_
  with_return_elements`` -> ``importer.import_graph_def(graph_def, producer_op_list=
  meta_info_def.stripped_op_list)``. With a producer op list, ``_RemoveDefaultAttrs`` drops
  each node attribute that TF 2.1's registered OpDef lacks *if* it equals the default the
  producer's OpDef gives it; the rest goes to TF_GraphImportGraphDef unchanged. It then
  runs the saver's restore op (``saver_def.restore_op_name``, ``filename_tensor_name`` fed
  ``variables/variables``), then the init op (signature ``__saved_model_init_op``, else the
  ``saved_model_main_op`` or ``legacy_init_op`` collection), fed the asset paths.
- checkpoint: ``tf.compat.v1.train.import_meta_graph(prefix + ".meta", clear_devices=True)``
  (the same import, devices cleared) and ``saver.restore(sess, prefix)``; no init op.
- frozen GraphDef: ``tf.compat.v1.import_graph_def(graph_def, name="")``: no producer op
  list, so nothing is dropped.

Why not TF_LoadSessionFromSavedModel: that is the C++ loader (cc/saved_model/loader.cc,
LoadSavedModel), which hands ``meta_graph_def.graph_def()`` to ``Session::Create`` as it
is; the GraphDef importer then rejects every attribute TF 2.1's OpDef lacks ("NodeDef
mentions attr ... not in Op"), default-valued or not. tf.compat.v1 loads such a model on
the image (the Python importer strips first), so the C loader would fail models that
deploy fine. This module reproduces the Python path instead: it parses the protos with the
local TensorFlow's protobuf classes, strips by the rule above against TF 2.1's op registry
(TF_GetAllOpList of the 2.1 library), and leaves the import, the restore and the init op to
TF 2.1 through TF_GraphImportGraphDef and TF_SessionRun (runner.py). The test suite shows
the C loader rejecting a SavedModel that this path, like the image, accepts.

Not reproduced: the Python-only parts of the import (collections rebuilt as Python
objects), and a Saver built afresh when a meta graph has variables but no saver_def
(a model saved without one fails the check, saying so).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from cortex_tools.tf21.diagnose import graph_findings

SERVE_TAGS = {"serve"}
INIT_OP_SIGNATURE_KEY = "__saved_model_init_op"
MAIN_OP_KEY, LEGACY_INIT_OP_KEY = "saved_model_main_op", "legacy_init_op"
ASSETS_KEY = "saved_model_assets"
VARIABLE_COLLECTIONS = ("variables", "trainable_variables", "local_variables",
                        "saveable_objects")


class LoadError(ValueError):
    """The model cannot be loaded as the image loads it, before TF 2.1 sees it."""


@dataclass
class Plan:
    """What TF 2.1 is given: the GraphDef to import and the ops to run before serving."""

    kind: str
    graph_def: bytes
    restore_op: str | None = None  # the saver's restore op, run fed `variables_prefix`
    filename_tensor: str | None = None
    variables_prefix: str | None = None
    init_op: str | None = None
    init_feeds: dict[str, str] = field(default_factory=dict)  # asset tensor -> file path
    stripped: list[str] = field(default_factory=list)  # node:attr the import drops
    producer_version: str = ""  # meta_info_def.tensorflow_version, when the model says
    findings: list = field(default_factory=list)  # diagnose.Finding: what TF 2.1 lacks
    location: str = ""  # the model as the user named it (config `model`, or a path)

    def as_json(self) -> dict:
        return {"kind": self.kind, "restore_op": self.restore_op,
                "filename_tensor": self.filename_tensor,
                "variables_prefix": self.variables_prefix, "init_op": self.init_op,
                "init_feeds": self.init_feeds, "stripped": self.stripped,
                "producer_version": self.producer_version, "location": self.location,
                "findings": [finding.as_json() for finding in self.findings]}


def plan_saved_model(path: str, consumer_ops: dict) -> Plan:
    from google.protobuf import text_format
    from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    binary, text = os.path.join(path, "saved_model.pb"), os.path.join(path, "saved_model.pbtxt")
    if os.path.isfile(binary):
        with open(binary, "rb") as f:
            saved_model.ParseFromString(f.read())
    else:
        with open(text, encoding="utf-8") as f:
            text_format.Merge(f.read(), saved_model)
    meta = next((m for m in saved_model.meta_graphs
                 if set(m.meta_info_def.tags) == SERVE_TAGS), None)
    if meta is None:
        tags = [sorted(m.meta_info_def.tags) for m in saved_model.meta_graphs]
        raise LoadError(f"no MetaGraphDef tagged exactly 'serve' (it has {tags}): the image "
                        "loads tags=['serve']")
    plan = _plan_meta_graph("SavedModel", meta, consumer_ops, clear_devices=False,
                            variables_prefix=os.path.join(path, "variables", "variables"))
    plan.init_op = _init_op(meta)
    for asset in _asset_files(meta, meta_graph_pb2):
        plan.init_feeds[asset.tensor_info.name] = os.path.join(path, "assets", asset.filename)
    return plan


def plan_checkpoint(prefix: str, consumer_ops: dict) -> Plan:
    from tensorflow.core.protobuf import meta_graph_pb2

    meta = meta_graph_pb2.MetaGraphDef()
    with open(prefix + ".meta", "rb") as f:
        meta.ParseFromString(f.read())
    return _plan_meta_graph("checkpoint", meta, consumer_ops, clear_devices=True,
                            variables_prefix=prefix)


def plan_frozen_graph(path: str, consumer_ops: dict) -> Plan:
    from tensorflow.core.framework import graph_pb2

    graph_def = graph_pb2.GraphDef()
    with open(path, "rb") as f:
        graph_def.ParseFromString(f.read())
    plan = Plan("frozen graph", graph_def.SerializeToString())
    plan.findings = graph_findings(graph_def, consumer_ops, LocalOps(), LocalOps())
    return plan


def strip_unknown_defaults(graph_def, producer_op_list, consumer_ops: dict) -> list[str]:
    """importer._RemoveDefaultAttrs of TF 2.1: in place; returns the "node:attr" removed."""
    producer = {op.name: op for op in producer_op_list.op}
    removed = []
    for node in graph_def.node:
        consumer = consumer_ops.get(node.op)
        if node.op not in producer or consumer is None:
            continue  # unknown to TF 2.1: the import itself will say so
        known = {attr.name for attr in consumer.attr}
        for key in list(node.attr):
            if key in known:
                continue
            attr_def = next((a for a in producer[node.op].attr if a.name == key), None)
            if attr_def is not None and attr_def.HasField("default_value") and \
                    node.attr[key] == attr_def.default_value:
                del node.attr[key]
                removed.append(f"{node.name}:{key}")
    return removed


def _plan_meta_graph(kind: str, meta, consumer_ops: dict, clear_devices: bool,
                     variables_prefix: str) -> Plan:
    graph_def = meta.graph_def
    if clear_devices:
        for node in graph_def.node:
            node.device = ""
    stripped = []
    if meta.meta_info_def.HasField("stripped_op_list"):
        stripped = strip_unknown_defaults(graph_def, meta.meta_info_def.stripped_op_list,
                                          consumer_ops)
    plan = Plan(kind, graph_def.SerializeToString(), stripped=stripped,
                producer_version=meta.meta_info_def.tensorflow_version)
    plan.findings = graph_findings(graph_def, consumer_ops, producer_ops_of(meta), LocalOps())
    if meta.HasField("saver_def"):
        if not _checkpoint_exists(variables_prefix):
            raise LoadError(f"its saver has no variables to restore at {variables_prefix} "
                            "(the image's Saver.restore raises 'not a valid checkpoint')")
        plan.restore_op = meta.saver_def.restore_op_name
        plan.filename_tensor = meta.saver_def.filename_tensor_name
        plan.variables_prefix = variables_prefix
    elif _has_variables(meta):
        raise LoadError("it has variables but no saver_def: the image builds a new "
                        "tf.compat.v1.train.Saver for it in Python, which this check does "
                        "not reproduce; save it with a Saver (SavedModelBuilder and "
                        "Saver.save() both write one)")
    return plan


def _checkpoint_exists(prefix: str) -> bool:
    # checkpoint_management.checkpoint_exists_internal: a V2 index, or a V1 file (both
    # matched as patterns there).
    return bool(glob.glob(prefix + ".index") or glob.glob(prefix))


def _has_variables(meta) -> bool:
    for key in VARIABLE_COLLECTIONS:
        if key in meta.collection_def:
            collection = meta.collection_def[key]
            kind = collection.WhichOneof("kind")
            if kind and getattr(collection, kind).value:
                return True
    return False


def _init_op(meta) -> str | None:
    if INIT_OP_SIGNATURE_KEY in meta.signature_def:
        outputs = meta.signature_def[INIT_OP_SIGNATURE_KEY].outputs
        return outputs[INIT_OP_SIGNATURE_KEY].name.split(":")[0]
    for key in (MAIN_OP_KEY, LEGACY_INIT_OP_KEY):
        if key in meta.collection_def:
            names = meta.collection_def[key].node_list.value
            if len(names) != 1:
                raise LoadError(f"collection {key} must hold exactly one init op, "
                                f"it holds {len(names)}")
            return names[0].split(":")[0]
    return None


def _asset_files(meta, meta_graph_pb2) -> list:
    if meta.asset_file_def:
        return list(meta.asset_file_def)
    assets = []
    if ASSETS_KEY in meta.collection_def:
        for any_proto in meta.collection_def[ASSETS_KEY].any_list.value:
            asset = meta_graph_pb2.AssetFileDef()
            any_proto.Unpack(asset)
            assets.append(asset)
    return assets


def consumer_ops_from(op_list_bytes: bytes) -> dict:
    """TF 2.1's registered OpDefs by name, from the serialized TF_GetAllOpList."""
    from tensorflow.core.framework import op_def_pb2

    ops = op_def_pb2.OpList()
    ops.ParseFromString(op_list_bytes)
    return {op.name: op for op in ops.op}


def read_op_list(path: Path) -> dict:
    return consumer_ops_from(path.read_bytes())


class LocalOps:
    """The local TensorFlow's registered OpDefs, looked up by name (``.get``, ``in``): the
    producer's defaults for a graph that carries no op list of its own."""

    def get(self, name: str, default=None):
        from tensorflow.python.framework import op_def_registry

        return op_def_registry.get(name) or default

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None


def producer_ops_of(meta) -> dict | LocalOps:
    """The producer's OpDefs for a meta graph: its stripped_op_list, else the local ones."""
    if meta is not None and meta.meta_info_def.HasField("stripped_op_list"):
        return {op.name: op for op in meta.meta_info_def.stripped_op_list.op}
    return LocalOps()
