"""From what TF 2.1 rejects to the op or attribute, the node, and the fix.

Two sources, combined: the error TF 2.1 gave (its first complaint, with the node it names),
and `graph_findings`, every node of the GraphDef handed to TF 2.1 set against TF 2.1's op
registry (computed on the local side, where the protos can be read), so that a message
lists all the nodes a fix must cover, not only the first that TF 2.1 tripped on.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass

from cortex_tools import TOOLS_PYTHON
from cortex_tools.tf21 import TF_VERSION
from cortex_tools.tf_errors import joined

FIX_GRAPH = f"{TOOLS_PYTHON} -m cortex_tools.tf21 fix-graph"
MAX_LISTED = 5
MAX_VALUES = 3
# What `make convert` (cortex_tools.convert) removes: freezing turns resource variables
# into constants (their VarHandleOp's debug_name goes with them) and keeps only what the
# signature's outputs need (the save and restore functions, with their DisableCopyOnRead).
CONVERTED_ATTRS = {("VarHandleOp", "debug_name")}
CONVERTED_OPS = {"DisableCopyOnRead"}
SAVING_FUNCTIONS = ("__inference__traced_save", "__inference__traced_restore")


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
    # TF 2.1's whole message: its first line may be only "Graph execution error:".
    details = [f"TensorFlow {TF_VERSION} said ({stage}{', ' + code if code else ''}): "
               f"{_shortened(joined(message))}"]
    groups = _grouped(findings)
    if groups and stage == "import":  # what TF 2.1 lacks fails the import, nothing later
        named = _named_in(message, groups)
        lead = named or next(iter(groups))
        headline = _problem(lead, groups[lead], kind, model_path)
        for key, group in groups.items():
            if key != lead:
                details.append("also: " + _problem(key, group, kind, model_path))
        return Diagnosis(headline, details)
    return Diagnosis(_from_message(joined(message), stage), details)


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
    converts = _converted(key, group)
    if finding_kind == "op":
        if converts:
            return (f"op {op} is newer than TF {_short()} ({nodes}), but only saving uses "
                    f"it: {convert_fix(kind, model_path)}")
        if local:
            return (f"op {op} is newer than TF {_short()} ({nodes}): export with TF <= "
                    f"{_short()} or avoid it")
        return (f"op {op} is neither a TF {_short()} op nor one of the local TensorFlow's "
                f"({nodes}): a custom op needs its library loaded (tf.load_op_library) "
                "before the model on the image; otherwise remove it from the graph")
    attrs = sorted({finding.attr for finding in group})
    named = f"attr {attrs[0]} of {op} is" if len(attrs) == 1 else \
        f"attrs {', '.join(attrs)} of {op} are"
    shown = sorted({f"{f.attr}={f.value}" for f in group})
    values = ", ".join(shown[:MAX_VALUES]) + (" ..." if len(shown) > MAX_VALUES else "")
    if default and kind == "frozen graph":
        return (f"{named} unknown to TF {_short()} ({nodes}; {values}, the defaults): "
                f"{convert_fix(kind, model_path)}, or keep a frozen graph: "
                f"`{FIX_GRAPH} {model_path} {_fixed_name(model_path)}`")
    if default:
        return (f"{named} unknown to TF {_short()} ({nodes}; {values}, the defaults), but "
                "the model's stripped_op_list does not give those defaults, so the image's "
                f"loader keeps them: {convert_fix(kind, model_path)}")
    if converts:
        return (f"{named} unknown to TF {_short()} and not at the default ({nodes}; "
                f"{values}): newer TensorFlows set it on every resource variable; "
                f"{convert_fix(kind, model_path)}")
    return (f"{named} unknown to TF {_short()} and not at the default ({nodes}; {values}): "
            f"only a newer TensorFlow runs it; export with TF <= {_short()} or avoid what "
            "sets it")


def _converted(key: tuple, group: list[Finding]) -> bool:
    """Whether `make convert` removes what this group is about."""
    finding_kind, op, default, _ = key
    if finding_kind == "op":
        return op in CONVERTED_OPS or all(f.function.startswith(SAVING_FUNCTIONS)
                                          for f in group)
    return default or any((op, f.attr) in CONVERTED_ATTRS for f in group)


def convert_fix(kind: str, model_path: str) -> str:
    """The `make convert` command that fixes a model of `kind` at `model_path` (the
    config's `model`), as it runs in the project: a SavedModel is converted in place, so the
    config stays; another format becomes a SavedModel beside it, which the config names."""
    if model_path.startswith("s3://"):
        return (f"convert a local copy of it with `make convert SRC=PATH`, then upload "
                f"what it writes to {model_path}")
    if kind == "SavedModel":
        dest = "" if os.path.normpath(model_path) == "model" else f" DEST={model_path}"
        return f"make convert fixes it: `make convert SRC={model_path}{dest}`"
    # The SavedModel keeps the graph's tensor names, so the config's mapping still holds.
    dest = _converted_name(model_path)
    return (f"make convert fixes it: `make convert SRC={model_path} DEST={dest}`, then "
            f"`model: {dest}` (inputs and outputs stay) and remove {model_path}")


def _converted_name(path: str) -> str:
    base = path.rstrip("/")
    stem, dot, suffix = base.rpartition(".")
    return f"{stem}-tf21" if dot and "/" not in suffix and suffix == "pb" else base + "-tf21"


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


def _shortened(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _short() -> str:
    return ".".join(TF_VERSION.split(".")[:2])
