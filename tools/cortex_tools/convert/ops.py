"""The frozen graph against TensorFlow 2.1's op registry: stripped, or what cannot run there.

tf21.fix_graph.strip_graph drops each attribute that 2.1's OpDef lacks where it holds the
default (the graph means the same without it: TensorFlow never changes an attribute's
default) or carries no meaning (debug_name). What remains, an op 2.1 does not have or an
attribute it lacks set to another value, no conversion can fix: one line names the op, the
node, the Keras layer it comes from when there is one, and what avoids it.
"""

from __future__ import annotations

from cortex_tools.convert.errors import ConvertError
from cortex_tools.convert.source import Source
from cortex_tools.tf21.diagnose import Finding
from cortex_tools.tf21.fix_graph import strip_graph

MAX_NODES = 3
# Ops of newer TensorFlows that common code makes, and what makes the same without them.
AVOID = {
    "BesselI0": "tf.math.bessel_i0 became an op after TF 2.1: compute it in predictor.py "
                "with numpy, or with other ops",
    "BesselI1": "tf.math.bessel_i1 became an op after TF 2.1: compute it in predictor.py "
                "with numpy, or with other ops",
    "BatchMatMulV3": "tf.matmul of two dtypes makes it: cast both operands to one dtype",
    "StatelessRandomUniformV2": "random ops at serving time: remove them (Dropout is off "
                                "at inference) or draw in predictor.py",
    "StatelessRandomNormalV2": "random ops at serving time: remove them or draw in "
                               "predictor.py",
}


def strip(source: Source, consumer_ops: dict) -> list[str]:
    """Strip source.graph_def in place; return the "node:attr" dropped. ConvertError when
    something TF 2.1 lacks remains."""
    result = strip_graph(source.graph_def, consumer_ops)
    if result.remaining:
        lines = [_line(group, source) for group in _grouped(result.remaining)]
        raise ConvertError(f"cannot convert {source.location}: {lines[0]}", lines[1:])
    return result.removed


def _grouped(findings: list[Finding]) -> list[list[Finding]]:
    groups: dict[tuple, list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.kind, finding.op, finding.attr), []).append(finding)
    return list(groups.values())


def _line(group: list[Finding], source: Source) -> str:
    first = group[0]
    where = _where(group, source)
    if first.kind == "op":
        if not first.local:
            return (f"op {first.op} is a custom op ({where}): TF 2.1 cannot run it unless "
                    "its library is loaded before the model; remove it from the model")
        avoid = AVOID.get(first.op, "build the model with ops TF 2.1 has (tf.raw_ops of "
                                    "TF 2.1), or do that step in predictor.py")
        return f"op {first.op} is newer than TF 2.1 ({where}): {avoid}"
    values = ", ".join(sorted({finding.value for finding in group}))
    return (f"attr {first.attr} of op {first.op} is unknown to TF 2.1 and set to {values}, "
            f"not its default ({where}): only a newer TensorFlow runs it; build that layer "
            "without the option that sets it")


def _where(group: list[Finding], source: Source) -> str:
    nodes = list(dict.fromkeys(finding.where for finding in group))
    text = ", ".join(nodes[:MAX_NODES]) + (f" and {len(nodes) - MAX_NODES} more"
                                           if len(nodes) > MAX_NODES else "")
    layers = list(dict.fromkeys(filter(None, (source.layer_of(f.node) for f in group))))
    if layers:
        text += f"; layer {', '.join(layers)}"
    return text
