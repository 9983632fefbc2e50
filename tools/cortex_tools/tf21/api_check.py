"""Every TensorFlow use of the uploaded code, checked against TF 2.1.0's API (api_tree.py).

Each file is parsed with ``ast`` (never imported). Names bound to TensorFlow by an import
(``import tensorflow as tf``, ``import tensorflow.compat.v1 as tf``, ``from tensorflow
import keras``, ``from tensorflow.python.x import y``) start chains; a chain goes on
through attributes, calls of classes and message types (an instance), subscripts and
``for`` loops over repeated message fields, and names assigned from such expressions,
including ``self.x`` set in a class's methods. On each chain it checks:

- every attribute exists in TF 2.1 (module, class, message field or method);
- every call's keywords are parameters of the called function (message fields for a
  message), and the positional arguments fit;
- every assignment to a message attribute names a field that may be assigned;
- getattr / setattr with a literal name (or a ``for`` over a tuple of literals), and the
  field names given to HasField / ClearField / WhichOneof.

A name assigned from different values, a function's parameters and return values, and
anything reached through other code are not followed: what is not followed is not
checked, and never reported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from cortex_tools.tf21 import TF_VERSION
from cortex_tools.tf21.api_tree import (
    OPAQUE,
    ApiTree,
    FieldNameMethod,
    MessageObj,
    MessageV,
    Missing,
    Opaque,
    Value,
    _unknown_name,
)


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    text: str

    def format(self) -> str:
        return f"{self.path}:{self.line}: {self.text}"


@dataclass
class FileReport:
    path: str
    uses: int = 0  # TensorFlow attributes and calls checked
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Strings:
    """A name known to hold one of these literal strings (a for loop over literals)."""

    values: frozenset[str]


def check_source(source: str, shown: str, tree: ApiTree) -> FileReport:
    module = ast.parse(source, filename=shown)
    return _FileChecker(module, shown, tree).run()


def check_file(path: Path, shown: str, tree: ApiTree) -> FileReport:
    return check_source(path.read_text(encoding="utf-8"), shown, tree)


# --- scopes -------------------------------------------------------------------------------


@dataclass
class Scope:
    node: ast.AST
    parent: Scope | None
    kind: str  # module, function, class, lambda, comprehension
    bindings: dict[str, list[tuple]] = field(default_factory=dict)
    declared_global: set[str] = field(default_factory=set)
    # a class scope: self.NAME = expr in its methods, as (expr, method scope)
    instance: dict[str, list[tuple]] = field(default_factory=dict)
    self_name: str | None = None  # a method: the name of its first parameter
    owner: Scope | None = None  # a method: its class's scope

    def bind(self, name: str, binding: tuple) -> None:
        self.bindings.setdefault(name, []).append(binding)


UNKNOWN = ("unknown",)
SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
               ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class _Binder(ast.NodeVisitor):
    """First pass: every scope, what each of its names is bound to, and the scope of each
    node."""

    def __init__(self, module: ast.Module) -> None:
        self.module_scope = Scope(module, None, "module")
        self.scope_of: dict[int, Scope] = {}
        self.scope = self.module_scope

    def generic_visit(self, node: ast.AST) -> None:
        self.scope_of[id(node)] = self.scope
        super().generic_visit(node)

    def _enter(self, node: ast.AST, kind: str) -> Scope:
        scope = Scope(node, self.scope, kind)
        self.scope_of[id(node)] = self.scope  # the node itself belongs to the outer scope
        return scope

    def _visit_in(self, scope: Scope, nodes: list) -> None:
        outer, self.scope = self.scope, scope
        for node in nodes:
            self.visit(node)
        self.scope = outer

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.bind(node.name, UNKNOWN)
        for decorator in node.decorator_list:
            self.visit(decorator)
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d]:
            self.visit(default)
        scope = self._enter(node, "function")
        arguments = node.args.posonlyargs + node.args.args
        if self.scope.kind == "class" and arguments and not any(
                isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list):
            scope.self_name, scope.owner = arguments[0].arg, self.scope
        for argument in arguments + node.args.kwonlyargs + \
                [a for a in (node.args.vararg, node.args.kwarg) if a]:
            scope.bind(argument.arg, UNKNOWN)
        self._visit_in(scope, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        scope = self._enter(node, "lambda")
        for argument in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
            scope.bind(argument.arg, UNKNOWN)
        self._visit_in(scope, [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.bind(node.name, UNKNOWN)
        for expr in node.bases + [k.value for k in node.keywords] + node.decorator_list:
            self.visit(expr)
        self._visit_in(self._enter(node, "class"), node.body)

    def _visit_comprehension(self, node) -> None:
        scope = self._enter(node, "comprehension")
        self.visit(node.generators[0].iter)  # evaluated in the enclosing scope
        outer, self.scope = self.scope, scope
        for index, generator in enumerate(node.generators):
            self._bind_target(generator.target, ("iter", generator.iter, scope if index
                                                 else outer))
            if index:
                self.visit(generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
        for part in ([node.key, node.value] if isinstance(node, ast.DictComp)
                     else [node.elt]):
            self.visit(part)
        self.scope = outer

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    def visit_Global(self, node: ast.Global) -> None:
        self.scope.declared_global.update(node.names)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.scope.bind(alias.asname, ("import", alias.name, node))
            else:
                top = alias.name.split(".")[0]
                self.scope.bind(top, ("import", top, node))
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                binding = ("from", node.module, alias.name, node) if not node.level and \
                    node.module else UNKNOWN
                self.scope.bind(alias.asname or alias.name, binding)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind_target(target, ("expr", node.value, self.scope))
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._bind_target(node.target, ("expr", node.value, self.scope))
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._bind_target(node.target, UNKNOWN)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._bind_target(node.target, ("expr", node.value, self.scope))
        self.generic_visit(node)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        literals = _literal_strings(node.iter)
        binding = ("strings", literals) if literals is not None else \
            ("iter", node.iter, self.scope)
        self._bind_target(node.target, binding)
        self.generic_visit(node)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self._bind_target(item.optional_vars, UNKNOWN)
        self.generic_visit(node)

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.scope.bind(node.name, UNKNOWN)
        self.generic_visit(node)

    def _bind_target(self, target: ast.expr, binding: tuple) -> None:
        if isinstance(target, ast.Name):
            self.scope.bind(target.id, binding)
        elif isinstance(target, ast.Tuple | ast.List | ast.Starred):
            for name in _names_in(target):
                self.scope.bind(name, UNKNOWN)
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and \
                self.scope.self_name == target.value.id and self.scope.owner is not None:
            self.scope.owner.instance.setdefault(target.attr, []).append(binding)


# --- the checks ---------------------------------------------------------------------------


class _FileChecker:
    def __init__(self, module: ast.Module, shown: str, tree: ApiTree) -> None:
        self.module, self.shown, self.tree = module, shown, tree
        binder = _Binder(module)
        binder.visit(module)
        self.module_scope, self.scope_of = binder.module_scope, binder.scope_of
        self.report = FileReport(shown)
        self._values: dict[int, Value | Strings] = {}
        self._evaluating: set[int] = set()
        self._names: dict[tuple[int, str], Value | Strings] = {}
        self._checked: set[int] = set()

    def run(self) -> FileReport:
        for node in ast.walk(self.module):
            if isinstance(node, ast.Import | ast.ImportFrom):
                self._check_import(node)
            elif isinstance(node, ast.Attribute | ast.Call | ast.Subscript | ast.Name):
                self.value(node)
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Attribute):
                        self._check_store(target, target.attr)
        self.report.problems.sort(key=lambda p: p.line)
        return self.report

    # --- values ---------------------------------------------------------------------------

    def value(self, node: ast.expr) -> Value | Strings:
        key = id(node)
        if key in self._values:
            return self._values[key]
        if key in self._evaluating:
            return OPAQUE  # a name defined in terms of itself
        self._evaluating.add(key)
        try:
            result = self._value(node)
        finally:
            self._evaluating.discard(key)
        self._values[key] = result
        return result

    def _value(self, node: ast.expr) -> Value | Strings:
        if isinstance(node, ast.Name):
            return self.name_value(node.id, self.scope_of.get(id(node), self.module_scope))
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Subscript):
            base = self.value(node.value)
            if isinstance(node.slice, ast.Slice) or isinstance(base, Strings):
                return OPAQUE
            return self.tree.element(base)
        return OPAQUE

    def _attribute(self, node: ast.Attribute) -> Value:
        if isinstance(node.ctx, ast.Load):
            own = self._self_attribute(node)
            if own is not None:
                return own
        base = self.value(node.value)
        if _unchecked(base) or isinstance(node.ctx, ast.Store):
            return OPAQUE
        self._use(node)
        found = self.tree.attribute(base, node.attr)
        if isinstance(found, Missing):
            self._problem(node, f"{ast.unparse(node)} is not in TensorFlow {TF_VERSION}: " +
                          _unknown_name(node.attr, found.known,
                                        f"{self._describe(node.value, base)} has no"))
            return OPAQUE
        return found

    def _call(self, node: ast.Call) -> Value:
        function = node.func
        if isinstance(function, ast.Name) and function.id in ("getattr", "setattr") and \
                self._is_builtin(function) and len(node.args) >= 2:
            self._dynamic_attribute(node, function.id)
            return OPAQUE
        callee = self.value(function)
        if isinstance(callee, FieldNameMethod):
            self._use(node)
            if node.args and isinstance(node.args[0], ast.Constant) and \
                    isinstance(node.args[0].value, str):
                problem = self.tree.field_name_problem(callee, node.args[0].value)
                if problem:
                    self._problem(node, f"{ast.unparse(function)}({node.args[0].value!r}) in "
                                        f"TensorFlow {TF_VERSION}: {problem}")
            return OPAQUE
        if _unchecked(callee):
            return OPAQUE
        self._use(node)
        keywords = [k.arg for k in node.keywords if k.arg is not None]
        result, problem = self.tree.call(
            callee, sum(not isinstance(a, ast.Starred) for a in node.args), keywords,
            star=any(isinstance(a, ast.Starred) for a in node.args),
            double_star=any(k.arg is None for k in node.keywords))
        if problem:
            self._problem(node, f"{ast.unparse(function)}() in TensorFlow {TF_VERSION} "
                                f"{problem}")
        return result

    def _dynamic_attribute(self, node: ast.Call, builtin: str) -> None:
        """getattr(x, NAME) (without a default) and setattr(x, NAME, v), NAME literal."""
        base = self.value(node.args[0])
        names = self._literal_names(node.args[1])
        if _unchecked(base) or names is None:
            return
        if builtin == "getattr" and len(node.args) > 2:
            return  # a default: the code expects that the name may be missing
        self._use(node)
        for name in sorted(names):
            if builtin == "setattr":
                self._check_store(node, name, base)
            else:
                found = self.tree.attribute(base, name)
                if isinstance(found, Missing):
                    self._problem(node, f"getattr({ast.unparse(node.args[0])}, {name!r}) is "
                                        f"not in TensorFlow "
                                        f"{TF_VERSION}: " + _unknown_name(
                                            name, found.known,
                                            f"{self._describe(node.args[0], base)} has no"))

    def _check_store(self, node: ast.AST, name: str, base: Value | None = None) -> None:
        if base is None:
            base = self.value(node.value)
        if not isinstance(base, MessageObj):
            return
        self._use(node)
        problem = self.tree.field_assignment_problem(base, name)
        if problem:
            target = f"{ast.unparse(node)} = ..." if isinstance(node, ast.Attribute) else \
                f"setattr({ast.unparse(node.args[0])}, {name!r}, ...)"
            self._problem(node, f"{target} in TensorFlow {TF_VERSION}: {problem}")

    def _check_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "tensorflow":
                    self._use(node)
                    if isinstance(self.tree.import_module(alias.name), Missing):
                        self._problem(node, f"import {alias.name}: TensorFlow {TF_VERSION} "
                                            "has no such module")
            return
        if node.level or not node.module or node.module.split(".")[0] != "tensorflow":
            return
        self._use(node)
        module = self.tree.import_module(node.module)
        if isinstance(module, Missing):
            self._problem(node, f"from {node.module} import ...: TensorFlow {TF_VERSION} "
                                "has no such module")
            return
        for alias in node.names:
            if alias.name != "*":
                found = self.tree.attribute(module, alias.name)
                if isinstance(found, Missing):
                    self._problem(node, f"from {node.module} import {alias.name}: "
                                        f"not in TensorFlow {TF_VERSION}: " + _unknown_name(
                                            alias.name, found.known, f"{node.module} has no"))

    # --- names ----------------------------------------------------------------------------

    def name_value(self, name: str, scope: Scope) -> Value | Strings:
        defining = self._defining_scope(name, scope)
        if defining is None:
            return OPAQUE  # a builtin, or unbound
        key = (id(defining.node), name)
        if key not in self._names:
            self._names[key] = OPAQUE  # while evaluating: a cycle sees nothing
            self._names[key] = self._combined([self._binding_value(b)
                                               for b in defining.bindings[name]])
        return self._names[key]

    def _defining_scope(self, name: str, scope: Scope) -> Scope | None:
        if name in scope.declared_global:
            return self.module_scope if name in self.module_scope.bindings else None
        current: Scope | None = scope
        first = True
        while current is not None:
            # a class's names are not visible from the functions inside it
            if (first or current.kind != "class") and name in current.bindings:
                return current
            current, first = current.parent, False
        return None

    def _binding_value(self, binding: tuple) -> Value | Strings:
        kind = binding[0]
        if kind == "import":
            return self.tree.import_module(binding[1]) if binding[1] == "tensorflow" or \
                binding[1].startswith("tensorflow.") else OPAQUE
        if kind == "from":
            if binding[1].split(".")[0] != "tensorflow":
                return OPAQUE
            module = self.tree.import_module(binding[1])
            found = self.tree.attribute(module, binding[2]) if not _unchecked(module) else \
                OPAQUE
            return OPAQUE if isinstance(found, Missing) else found
        if kind == "expr":
            return self.value(binding[1])
        if kind == "iter":
            iterated = self.value(binding[1])
            return OPAQUE if isinstance(iterated, Strings) else self.tree.element(iterated)
        if kind == "strings":
            return Strings(binding[1])
        return OPAQUE

    def _combined(self, values: list[Value | Strings]) -> Value | Strings:
        """One value for a name bound several times: theirs if they agree, else Opaque."""
        if all(isinstance(v, Strings) for v in values):
            return Strings(frozenset().union(*(v.values for v in values)))
        first = values[0]
        return first if all(v == first for v in values) else OPAQUE

    def _literal_names(self, node: ast.expr) -> frozenset[str] | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return frozenset([node.value])
        value = self.value(node)
        return value.values if isinstance(value, Strings) else None

    def _is_builtin(self, node: ast.Name) -> bool:
        scope = self.scope_of.get(id(node), self.module_scope)
        return self._defining_scope(node.id, scope) is None

    # --- self.x ---------------------------------------------------------------------------

    def _self_attribute(self, node: ast.Attribute) -> Value | None:
        """self.x in a method: the value every `self.x = ...` of the class gives it."""
        if not isinstance(node.value, ast.Name):
            return None
        scope = self.scope_of.get(id(node), self.module_scope)
        while scope is not None and scope.kind in ("lambda", "comprehension"):
            scope = scope.parent
        if scope is None or scope.self_name != node.value.id or scope.owner is None or \
                node.value.id in {n for n in scope.bindings if n != scope.self_name}:
            return None
        bindings = scope.owner.instance.get(node.attr)
        if not bindings:
            return None
        value = self._combined([self._binding_value(b) for b in bindings])
        return None if isinstance(value, Strings) else value

    # --- reporting ------------------------------------------------------------------------

    def _use(self, node: ast.AST) -> None:
        if id(node) not in self._checked:
            self._checked.add(id(node))
            self.report.uses += 1

    def _problem(self, node: ast.AST, text: str) -> None:
        problem = Problem(self.shown, getattr(node, "lineno", 0), text)
        if problem not in self.report.problems:
            self.report.problems.append(problem)

    def _describe(self, node: ast.expr, value: Value) -> str:
        text = ast.unparse(node)
        if isinstance(value, MessageObj):
            return f"{text} (a {value.full_name})"
        if isinstance(value, MessageV):
            return f"{text} (message {value.full_name})"
        return text


def _unchecked(value) -> bool:
    return isinstance(value, Opaque | Strings | Missing)


def _literal_strings(node: ast.expr) -> frozenset[str] | None:
    if isinstance(node, ast.Tuple | ast.List | ast.Set) and node.elts and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return frozenset(e.value for e in node.elts)
    return None


def _names_in(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Starred):
        return _names_in(target.value)
    if isinstance(target, ast.Tuple | ast.List):
        return [n for e in target.elts for n in _names_in(e)]
    return []
