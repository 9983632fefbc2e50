"""From what TF 2.1 rejects to the op or attribute, the node, and the fix.

Two sources, combined: the error TF 2.1 gave (its first complaint, with the node it names),
and `graph_findings`, every node of the GraphDef handed to TF 2.1 set against TF 2.1's op
registry (computed on the local side, where the protos can be read), so that a message
lists all the nodes a fix must cover, not only the first that TF 2.1 tripped on.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from cortex_tools.tf21 import TF_VERSION

FIX_GRAPH = "python -m cortex_tools.tf21 fix-graph"
MAX_LISTED = 5
# Attributes that newer TensorFlows set to non-default values on common ops, and what
# avoids them.
HINTS = {
    ("VarHandleOp", "debug_name"): "newer TensorFlows name every resource variable so: make "
    "reference variables (tf.compat.v1.Variable(..., use_resource=False), as "
    "example/export_model.py does) or export with TF <= 2.1",
}


@dataclass(frozen=True)
class Finding:
    """One node that TF 2.1's registry does not cover."""

    kind: str  # "op": TF 2.1 has no such op; "attr": its op has no such attribute
    op: str
    node: str
    attr: str = ""
    value: str = ""  # the attribute's value, as text
    default: bool = False  # the value is the producer's default for that attribute
    local: bool = True  # the local TensorFlow knows the op (kind "op")
    function: str = ""  # the library function holding the node, if any

    @property
    def where(self) -> str:
        return f"node {self.node}" + (f" of function {self.function}" if self.function else "")

    def as_json(self) -> dict:
        return asdict(self)


def graph_findings(graph_def, consumer_ops, producer_ops, local_ops) -> list[Finding]:
    """The nodes (top level and in library functions) whose op or attributes TF 2.1 lacks.

    Each argument maps op names to OpDefs (``.get`` and ``in``): `consumer_ops` TF 2.1's
    registry; `producer_ops` the producer's (the model's stripped op list, else the local
    registry), for the defaults; `local_ops` the local TensorFlow's."""
    functions = {f.signature.name for f in graph_def.library.function}
    found: list[Finding] = []
    nodes = [(node, "") for node in graph_def.node]
    for function in graph_def.library.function:
        nodes += [(node, function.signature.name) for node in function.node_def]
    for node, function in nodes:
        if node.op in functions:
            continue
        consumer = consumer_ops.get(node.op)
        if consumer is None:
            found.append(Finding("op", node.op, node.name, local=node.op in local_ops,
                                 function=function))
            continue
        known = {attr.name for attr in consumer.attr}
        producer = producer_ops.get(node.op)
        for key, value in sorted(node.attr.items()):
            if key in known or key.startswith("_"):  # "_..." attrs are internal: allowed
                continue
            attr_def = next((a for a in producer.attr if a.name == key), None) if producer \
                else None
            default = attr_def is not None and attr_def.HasField("default_value") and \
                value == attr_def.default_value
            found.append(Finding("attr", node.op, node.name, attr=key,
                                 value=_value_text(value), default=default, function=function))
    return found


def _value_text(value) -> str:
    kind = value.WhichOneof("value")
    if kind is None:
        return "unset"
    if kind == "b":
        return "true" if value.b else "false"
    text = str(getattr(value, kind)).strip().replace("\n", " ")
    return text if len(text) <= 40 else text[:40] + "..."


# --- the messages -------------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnosis:
    headline: str  # the problem and its fix, in one line
    details: list[str]  # TF 2.1's own words, and the other nodes concerned


def diagnose(stage: str, code: str | None, message: str, kind: str,
             findings: list[Finding], *, model_path: str = "MODEL.pb") -> Diagnosis:
    """The headline and details for a failure at `stage` ("import", "restore", "run 1",
    ...) of a model of `kind`, TF 2.1 having said `message`."""
    first_line = (message or "").strip().splitlines()[0] if (message or "").strip() else ""
    details = [f"TensorFlow {TF_VERSION} said ({stage}{', ' + code if code else ''}): "
               f"{_shortened(first_line)}"]
    groups = _grouped(findings)
    if groups and stage == "import":  # what TF 2.1 lacks fails the import, nothing later
        named = _named_in(message, groups)
        lead = named or next(iter(groups))
        headline = _problem(lead, groups[lead], kind, model_path)
        for key, group in groups.items():
            if key != lead:
                details.append("also: " + _problem(key, group, kind, model_path))
        return Diagnosis(headline, details)
    return Diagnosis(_from_message(first_line, stage), details)


def _grouped(findings: list[Finding]) -> dict[tuple, list[Finding]]:
    """Findings by (kind, op, default, local): one message covers every attribute and node
    of a group (MatMul's grad_a and grad_b on every MatMul node)."""
    groups: dict[tuple, list[Finding]] = {}
    for finding in findings:
        key = (finding.kind, finding.op, finding.default, finding.local)
        groups.setdefault(key, []).append(finding)
    return groups


def _named_in(message: str, groups: dict) -> tuple | None:
    """The group TF 2.1's message is about, so the headline matches what it said."""
    op = re.search(r"Op type not registered '([^']+)'", message or "")
    attr = re.search(r"NodeDef mentions attr '([^']+)' not in Op<name=([^;>]+)", message or "")
    for key, group in groups.items():
        if op and key[0] == "op" and key[1] == op.group(1):
            return key
        if attr and key[0] == "attr" and key[1] == attr.group(2) and any(
                finding.attr == attr.group(1) for finding in group):
            return key
    return None


def _problem(key: tuple, group: list[Finding], kind: str, model_path: str) -> str:
    finding_kind, op, default, local = key
    nodes = _nodes(group)
    if finding_kind == "op":
        if local:
            return (f"op {op} is newer than TF {_short()} ({nodes}): export with TF <= "
                    f"{_short()} or avoid it")
        return (f"op {op} is neither a TF {_short()} op nor one of the local TensorFlow's "
                f"({nodes}): a custom op needs its library loaded (tf.load_op_library) "
                "before the model on the image; otherwise remove it from the graph")
    attrs = sorted({finding.attr for finding in group})
    named = f"attr {attrs[0]} of {op} is" if len(attrs) == 1 else \
        f"attrs {', '.join(attrs)} of {op} are"
    values = ", ".join(sorted({f"{f.attr}={f.value}" for f in group}))
    if default and kind == "frozen graph":
        return (f"{named} unknown to TF {_short()} ({nodes}; {values}, the defaults): freeze "
                f"with default attributes stripped, or write the fixed graph with "
                f"`{FIX_GRAPH} {model_path} {_fixed_name(model_path)}`")
    if default:
        return (f"{named} unknown to TF {_short()} ({nodes}; {values}, the defaults), but "
                "the model's stripped_op_list does not give those defaults, so the image's "
                "loader keeps them: export again with strip_default_attrs=True")
    hint = next((HINTS[(op, a)] for a in attrs if (op, a) in HINTS), None)
    return (f"{named} unknown to TF {_short()} and not at the default ({nodes}; {values}): "
            "only a newer TensorFlow runs it; " +
            (hint or f"export with TF <= {_short()} or avoid what sets it"))


def _from_message(first_line: str, stage: str) -> str:
    """A headline from TF 2.1's message alone, for what the findings do not explain."""
    patterns = [
        (r"No OpKernel was registered to support Op '([^']+)'.*?node ([^}\s]+)",
         lambda m: f"op {m.group(1)} has no CPU kernel in TF {_short()} (node {m.group(2)}): "
                   "the CPU image cannot run it; use an op that has one"),
        (r"Value for attr '([^']+)' of (\w+) is not in the list of allowed values.*?"
         r"node ([^}\s]+)",
         lambda m: f"attr {m.group(1)} is {m.group(2)}, which TF {_short()} does not allow "
                   f"there (node {m.group(3)}): cast to a type TF {_short()} allows"),
        (r"GraphDef min consumer version (\d+) above current version (\d+)",
         lambda m: f"the graph requires GraphDef version {m.group(1)}, TF {_short()} reads "
                   f"{m.group(2)}: export with TF <= {_short()}"),
    ]
    for pattern, headline in patterns:
        found = re.search(pattern, first_line)
        if found:
            return headline(found)
    if stage == "restore":
        return ("the variables do not restore in TF " + _short() + ": export the SavedModel "
                "or checkpoint again (V2 checkpoint format)")
    return f"TF {_short()} rejects the model at {stage}: see its message below"


def _nodes(group: list[Finding]) -> str:
    unique = list(dict.fromkeys(finding.where for finding in group))
    names = unique[:MAX_LISTED]
    more = len(unique) - len(names)
    return ", ".join(names) + (f" and {more} more" if more else "")


def _fixed_name(path: str) -> str:
    stem, dot, suffix = path.rpartition(".")
    return f"{stem}-tf21.{suffix}" if dot and "/" not in suffix else path + "-tf21"


def _shortened(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _short() -> str:
    return ".".join(TF_VERSION.split(".")[:2])
