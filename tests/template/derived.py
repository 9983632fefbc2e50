"""Bad payloads derived from the project's sample.json, whatever its fields: each one
dropped, each one of another JSON kind, an unknown one added, not an object, and where a
number is, NaN, infinity, a huge number and a string. Each case names the field its error
message must name (None: the payload as a whole)."""

import copy
from typing import Any

UNKNOWN_FIELD = "an_unexpected_field"
KINDS = {"a number": 1.5, "a string": "text", "a boolean": True, "null": None,
         "an array": [1], "an object": {"k": 1}}


class Case:
    """One bad payload: its test id, and the field its error must name (None: the
    payload as a whole)."""

    def __init__(self, id: str, payload: Any, field: "str | None") -> None:  # noqa: A002
        self.id, self.payload, self.field = id, payload, field

    def __repr__(self) -> str:
        return f"Case({self.id!r})"


def kind(value: Any) -> str:
    if value is None:
        return "null"
    for name, example in KINDS.items():
        if example is not None and type(value) in ({int, float} if name == "a number"
                                                     else {type(example)}):
            return name
    return type(value).__name__


def bad_payloads(sample: Any) -> "list[Case]":
    cases = [Case("not an object: an array", [sample], None),
             Case("not an object: a string", "text", None),
             Case("not an object: null", None, None),
             Case("not an object: a number", 5, None)]
    if not isinstance(sample, dict):
        return cases
    cases.append(Case("unknown field", {**sample, UNKNOWN_FIELD: 1}, UNKNOWN_FIELD))
    for field, value in sample.items():
        rest = {k: v for k, v in sample.items() if k != field}
        cases.append(Case(f"{field}: dropped", rest, field))
        for name, other in KINDS.items():
            if name != kind(value):
                cases.append(Case(f"{field}: {name}", {**sample, field: other}, field))
        if _first_number(value) is not None:
            for name, bad in (("NaN", float("nan")), ("infinity", float("inf")),
                              ("-infinity", float("-inf")), ("1e39", 1e39),
                              ("10**400", 10**400), ("a string for a number", "5")):
                cases.append(Case(f"{field}: {name}", {**sample, field: _replace_first_number(
                    value, bad)}, field))
    return cases


def _first_number(value: Any) -> "list | None":
    """The path to the first number inside value ([] for value itself), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(
        value, list) else ()
    for key, item in items:
        path = _first_number(item)
        if path is not None:
            return [key, *path]
    return None


def _replace_first_number(value: Any, new: Any) -> Any:
    path = _first_number(value)
    if not path:
        return new
    copied = copy.deepcopy(value)
    target = copied
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return copied
