"""The mechanical fix for a frozen graph: drop what TF 2.1 does not know but would default.

Also the last step of `make convert` (cortex_tools.convert), which strips every graph it
writes with `strip_graph`: one rule for both.

A frozen GraphDef written by a newer TensorFlow holds every attribute of every node, new
ones included (MatMul's grad_a and grad_b, ...). The image imports a frozen graph with
``tf.compat.v1.import_graph_def`` and no producer op list, so TF 2.1 rejects each attribute
its OpDef lacks. When such an attribute holds the default that the producer's OpDef gives
it, dropping it changes nothing (an attribute's default never changes: TensorFlow's
compatibility rules), which is what ``strip_default_attrs`` does at export. The producer's
OpDefs are the local TensorFlow's: the one the graph was most likely frozen with.

Attributes that carry no meaning for running the graph are dropped whatever their value:
``debug_name`` (newer TensorFlows name each resource variable's handle for error messages).

Anything else (an op TF 2.1 lacks, an unknown attribute with another value) has no
mechanical fix: nothing is written and the problems are listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cortex_tools.tf21.diagnose import Finding, graph_findings
from cortex_tools.tf21.load import LocalOps


@dataclass
class FixResult:
    removed: list[str] = field(default_factory=list)  # "node:attr" (in a function: f/node)
    remaining: list[Finding] = field(default_factory=list)  # what no drop can fix

    @property
    def ok(self) -> bool:
        return not self.remaining


# Attributes that only name or describe a node for messages: dropping them changes nothing
# that runs.
MEANINGLESS = frozenset({"debug_name"})


def fix_graph(source: Path, target: Path, consumer_ops: dict) -> FixResult:
    """Write `source` without its default-valued attributes unknown to TF 2.1 to `target`,
    unless something else keeps TF 2.1 from importing it."""
    from tensorflow.core.framework import graph_pb2

    graph_def = graph_pb2.GraphDef()
    graph_def.ParseFromString(source.read_bytes())
    result = strip_graph(graph_def, consumer_ops)
    if result.ok:
        target.write_bytes(graph_def.SerializeToString())
    return result


def strip_graph(graph_def, consumer_ops: dict, producer_ops=None) -> FixResult:
    """Drop, in place, each attribute TF 2.1's OpDef lacks that holds the producer's
    default (`producer_ops`, else the local TensorFlow's OpDefs) or carries no meaning;
    what remains unknown to TF 2.1 is listed in the result."""
    local = LocalOps()
    result = FixResult()
    for finding in graph_findings(graph_def, consumer_ops, producer_ops or local, local):
        if finding.kind == "attr" and (finding.default or finding.attr in MEANINGLESS):
            del _node(graph_def, finding).attr[finding.attr]
            result.removed.append((f"{finding.function}/" if finding.function else "") +
                                  f"{finding.node}:{finding.attr}")
        else:
            result.remaining.append(finding)
    return result


def _node(graph_def, finding: Finding):
    if finding.function:
        function = next(f for f in graph_def.library.function
                        if f.signature.name == finding.function)
        nodes = function.node_def
    else:
        nodes = graph_def.node
    return next(node for node in nodes if node.name == finding.node)
