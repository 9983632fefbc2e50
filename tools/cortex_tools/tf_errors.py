"""A TensorFlow error as one line that keeps its whole cause.

TensorFlow's messages run over several lines: "Graph execution error:", then the cause
("Could not find variable ..."), then the node in [[...]]; eager-defined nodes add the
Python stack where the node was defined. Cutting at the first line leaves only "Graph
execution error:"; this keeps every line but that stack, joined with " | ".
"""

from __future__ import annotations

STACK_HEADER = " defined at (most recent call last):"


def whole_cause(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error)
    return f"{type(error).__name__}: {joined(text)}"


def joined(text: str) -> str:
    """Every line of a TensorFlow message but the stack of where a node was defined."""
    kept: list[str] = []
    in_stack = False
    for line in (text or "").splitlines():
        if STACK_HEADER in line:
            kept.append(line.split(STACK_HEADER)[0].strip())
            in_stack = True
            continue
        if in_stack and line.startswith((" ", "\t")) and not line.strip().startswith("[["):
            continue  # a frame of that stack, or its source line
        in_stack = False
        if line.strip():
            kept.append(line.strip())
    return " | ".join(kept)
