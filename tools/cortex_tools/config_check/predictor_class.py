"""Cortex 0.17's class rules on predictor.path, read with ast (nothing of it runs).

Cortex checks these when the API starts (pkg/workloads/cortex/lib/type/predictor.py,
followed by cortex_tools.runtime.predictor_loader, whose words the messages repeat):
the file loads, one class is named PythonPredictor, its `__init__` takes exactly
`self, config` and its `predict` takes `self`, then any of payload, query_params,
headers. Only positional arguments count, as there (inspect.getfullargspec().args).

What ast cannot know is left alone: a class bound by a star import or an assignment, a
method inherited from a base class other than object, a decorated method.
"""

from __future__ import annotations

import ast
from pathlib import Path

from cortex_tools.runtime.predictor_loader import CLASS_NAME, PREDICT_ARGS

from .problems import ApiScope

PATH = ("predictor", "path")
# (method, required arguments, optional ones), as predictor_loader's rules.
RULES = (("__init__", ("self", "config"), ()), ("predict", ("self",), PREDICT_ARGS))
ALLOWED = {"__init__": "__init__ takes exactly self and config",
           "predict": "predict takes self, then any of " + ", ".join(PREDICT_ARGS)}


def parse(predictor_file: Path, rel_path: str, scope: ApiScope,
          fatal: bool = True) -> ast.Module | None:
    """The predictor's syntax tree; None when it has none. Then Cortex cannot load it: an
    error when `fatal`, else a warning that what depends on it is not checked (the
    runtime, loading the file next, says why in Cortex's words)."""
    try:
        return ast.parse(predictor_file.read_bytes(), filename=rel_path)
    except SyntaxError as exc:
        wrong = f"{rel_path} has a syntax error on line {exc.lineno} ({exc.msg})"
    except (OSError, ValueError) as exc:
        wrong = f"{rel_path} cannot be read ({exc})"
    if fatal:
        scope.error(PATH, f"{wrong}, so Cortex cannot load it (valid Python 3.6)")
    else:
        scope.warning(PATH, f"{wrong}, so predictor.config is not checked (valid Python 3.6)")
    return None


def check(tree: ast.Module, rel_path: str, scope: ApiScope) -> None:
    bindings, unknowable = _bindings(tree)
    if not bindings:
        if not unknowable:
            scope.error(PATH, f"{rel_path}: {CLASS_NAME} class is not defined (a class "
                        f"{CLASS_NAME} with __init__(self, config) and predict(self, payload))")
        return
    if len(bindings) > 1:
        lines = ", ".join(str(node.lineno) for node in bindings)
        scope.warning(PATH, f"{rel_path}: {CLASS_NAME} is bound {len(bindings)} times (lines "
                      f"{lines}) and Cortex takes the last one (one class {CLASS_NAME})")
    last = bindings[-1]  # an import or an assignment: its class is not in this file
    if isinstance(last, ast.ClassDef):
        problem = _class_problem(last)
        if problem:
            line, text, method = problem
            scope.error(PATH, f"{rel_path}:{line}: {text} ({ALLOWED[method]})")


def _bindings(tree: ast.Module) -> tuple[list[ast.stmt], bool]:
    """The module-level statements that bind CLASS_NAME, in order, and whether a star
    import might bind it too. Statements inside module-level if/try/with count."""
    found: list[ast.stmt] = []
    unknowable = False

    def visit(statements: list[ast.stmt]) -> None:
        nonlocal unknowable
        for node in statements:
            if isinstance(node, ast.ClassDef) and node.name == CLASS_NAME:
                found.append(node)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.asname or alias.name.split(".")[0] for alias in node.names]
                unknowable |= "*" in names
                if CLASS_NAME in names:
                    found.append(node)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
                isinstance(n, ast.Name) and n.id == CLASS_NAME for target in (
                    node.targets if isinstance(node, ast.Assign) else [node.target])
                for n in ast.walk(target)
            ):
                found.append(node)
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                for block in ("body", "orelse", "finalbody"):
                    visit(getattr(node, block, []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(tree.body)
    return found, unknowable


def _class_problem(cls: ast.ClassDef) -> tuple[int, str, str] | None:
    """(line, Cortex's words, method) of the first rule the class breaks, or None."""
    methods = {}
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            methods[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    methods[target.id] = None  # bound to something ast cannot read
    inherits = any(not (isinstance(base, ast.Name) and base.id == "object")
                   for base in cls.bases) or bool(cls.keywords)
    for name, required, optional in RULES:
        if name not in methods:
            if inherits:
                continue  # from a base class: not knowable here
            if name == "__init__":
                args = ["self"]  # object.__init__, as getfullargspec reads it
            else:
                return cls.lineno, f'required function "{name}" is not defined', name
            line = cls.lineno
        else:
            fn = methods[name]
            if fn is None or fn.decorator_list:
                continue
            args = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]
            line = fn.lineno
        problem = signature_problem(name, args, required, optional)
        if problem:
            return line, problem, name
    return None


def signature_problem(name: str, args: list[str], required: tuple[str, ...],
                      optional: tuple[str, ...]) -> str | None:
    """predictor_loader._signature_problem's rule and words, on argument names."""
    shown = f'{name}({", ".join(args)})'
    for arg in required:
        if arg not in args:
            return (f'invalid signature for function "{shown}": '
                    f'"{arg}" is a required argument, but was not provided')
        if arg == "self" and args[0] != "self":
            return f'invalid signature for function "{shown}": "self" must be the first argument'
    for arg in args:
        if arg not in required and arg not in optional:
            return f'invalid signature for function "{shown}": "{arg}" is not a supported argument'
    return None
