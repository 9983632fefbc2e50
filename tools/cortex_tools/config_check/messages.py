"""Turn values and jsonschema errors into the "what is wrong (what is allowed)" text.

The "what is allowed" part is the `description` of the schema at the failing key, so
the schema stays the one place where a rule is written down.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator
from typing import Any

from jsonschema import ValidationError


def show(value: Any) -> str:
    """A value as the user would write it in YAML: "text", 12, 0.5, true, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return repr(value)
    return kind(value)


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def with_allowed(wrong: str, allowed: str | None) -> str:
    return f"{wrong} ({allowed})" if allowed else wrong


UnknownKeyHint = Callable[[tuple], "str | None"]


def schema_problems(
    errors: Iterator[ValidationError], unknown_key_hint: UnknownKeyHint
) -> Iterator[tuple[tuple, str]]:
    """(path, message) for each jsonschema error, one per path, first error wins.

    `unknown_key_hint(path)` may give a better message for a key that is not in the
    schema (for example one that a later Cortex version introduced).
    """
    seen: set[tuple] = set()
    for error in errors:
        for path, message in _translate(error, unknown_key_hint):
            if path not in seen:
                seen.add(path)
                yield path, message


def _translate(error: ValidationError, hint: UnknownKeyHint) -> Iterator[tuple[tuple, str]]:
    path = tuple(error.absolute_path)
    value, schema, keyword = error.instance, error.schema, error.validator
    allowed = schema.get("description")

    if keyword == "required":
        for key in error.validator_value:
            if key not in value:
                child = schema.get("properties", {}).get(key, {})
                yield path + (key,), with_allowed("is missing", child.get("description"))
        return
    if keyword == "additionalProperties":
        known = list(schema.get("properties", {}))
        for key in value:
            if key not in known:
                yield path + (key,), hint(path + (key,)) or _unknown_key(key, known)
        return
    if keyword.startswith("x-"):  # our own keywords write the whole message
        yield path, error.message
        return

    if keyword == "type":
        if value is None:
            wrong = "has no value"
        elif isinstance(value, (dict, list)):
            wrong = f"is {kind(value)}"
        else:
            wrong = f"{show(value)} is {kind(value)}"
    elif keyword in ("minimum", "exclusiveMinimum"):
        wrong = f"{show(value)} is too small"
    elif keyword in ("maximum", "exclusiveMaximum"):
        wrong = f"{show(value)} is too large"
    elif keyword == "enum":
        wrong = f"{show(value)} is not one of the choices"
    elif keyword == "pattern":
        wrong = f"{show(value)} is not {schema.get('title', 'valid')}"
    elif keyword == "minLength":
        wrong = "is empty"
    elif keyword == "maxLength":
        wrong = f"{show(value)} is {len(value)} characters long"
    else:  # a keyword the schema does not use yet: jsonschema's own words
        wrong = error.message
    yield path, with_allowed(wrong, allowed)


def _unknown_key(key: Any, known: list[str]) -> str:
    close = difflib.get_close_matches(str(key), known, n=1) or [
        k for k in known if str(key) in k  # "threads" for threads_per_worker
    ]
    if close:
        return f"unknown key (did you mean {close[0]}?)"
    return f"unknown key (keys here: {', '.join(known)})"
