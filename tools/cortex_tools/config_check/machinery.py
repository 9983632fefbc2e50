"""tf_session.py, the template's machinery, read with ast: importing it would import TensorFlow.

A predictor is "the template's" when the folder of predictor.path holds tf_session.py and
the predictor imports from it. Then `predictor.config` is what tf_session reads, and its
module-level literals are the one place that says what that is:

- CONFIG_SCHEMA: the predictor.config keys and their bounds, as a JSON schema;
- ACCEPTED: what a model may be, in tf_session's words (for "what is allowed").

Any other predictor's config is its own business: free-form.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

MODULE = "tf_session"
FILE_NAME = MODULE + ".py"


class MachineryError(Exception):
    """tf_session.py is there but cannot be read as the template's; the text says why.
    `fatal`: Cortex could not import it either (else only this check cannot read it)."""

    def __init__(self, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


@dataclass(frozen=True)
class Machinery:
    path: Path  # tf_session.py
    schema: dict[str, Any]  # CONFIG_SCHEMA
    accepted: str | None  # ACCEPTED, or None in a tf_session.py without it

    @property
    def known_keys(self) -> list[str]:
        return list(self.schema.get("properties", {}))


def imports_machinery(tree: ast.Module) -> bool:
    """True if the module imports tf_session (`import tf_session`, `from tf_session import`),
    anywhere in it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (
            node.module == MODULE or (node.module or "").startswith(MODULE + ".")
        ):
            return True
        if isinstance(node, ast.Import) and any(
            alias.name == MODULE or alias.name.startswith(MODULE + ".") for alias in node.names
        ):
            return True
    return False


def machinery_beside(predictor_file: Path, tree: ast.Module) -> Machinery | None:
    """The Machinery of a template predictor; None for any other predictor. Raises
    MachineryError when the predictor imports a tf_session.py that cannot be read."""
    path = predictor_file.parent / FILE_NAME
    if not path.is_file() or not imports_machinery(tree):
        return None
    stat = path.stat()
    return _read(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _read(path: str, _mtime_ns: int, _size: int) -> Machinery:
    """Parsed once per version of the file (the mtime and size are the cache key)."""
    try:
        tree = ast.parse(Path(path).read_bytes(), filename=path)
    except SyntaxError as exc:
        raise MachineryError(f"{FILE_NAME} has a syntax error on line {exc.lineno} "
                             f"({exc.msg}), so Cortex cannot import it", fatal=True) from None
    except (OSError, ValueError) as exc:
        raise MachineryError(f"{FILE_NAME} cannot be read ({exc})", fatal=True) from None
    literals = module_literals(tree, ("CONFIG_SCHEMA", "ACCEPTED"))
    schema = literals.get("CONFIG_SCHEMA")
    if not isinstance(schema, dict):
        raise MachineryError(f"{FILE_NAME} has no literal CONFIG_SCHEMA, so predictor.config "
                             "is not checked (the template's tf_session.py has one)")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise MachineryError(f"{FILE_NAME}'s CONFIG_SCHEMA is not a valid JSON schema "
                             f"({exc.message}), so predictor.config is not checked") from None
    accepted = literals.get("ACCEPTED")
    return Machinery(Path(path), schema, accepted if isinstance(accepted, str) else None)


def module_literals(tree: ast.Module, names: tuple[str, ...]) -> dict[str, Any]:
    """The values of module-level `NAME = <literal>` assignments (tuple targets too:
    `A, B = "a", "b"`); a name assigned a non-literal is left out. The last assignment wins,
    as when the module runs."""
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            pairs = [(target, value)]
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(
                target.elts
            ) == len(value.elts):
                pairs = list(zip(target.elts, value.elts, strict=True))
            for name_node, value_node in pairs:
                if isinstance(name_node, ast.Name) and name_node.id in names:
                    try:
                        found[name_node.id] = ast.literal_eval(value_node)
                    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                        found.pop(name_node.id, None)
    return found
