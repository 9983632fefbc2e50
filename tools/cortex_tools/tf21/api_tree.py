"""TensorFlow 2.1.0's Python API, read from the wheel's sources without importing them.

``import tensorflow`` in 2.1 gives ``tensorflow_core``'s generated root (its __init__.py),
whose names are imported from the API tree ``_api/v2/...`` (``tf.compat.v1`` is
``_api/v2/compat/v1``), from ``python/keras/api/_v2`` (``tf.keras``) and from the
implementation modules (``from tensorflow.python.client.session import Session``). This
module follows those import lines to the definitions: modules, classes (their methods,
class attributes and the attributes their methods set on self, bases included), functions
(their parameters) and protobuf messages (protos.py).

Anything it cannot follow statically is `Opaque`: it exists, and what is done with it is
not checked (tensorboard's tf.summary, tensorflow_estimator's tf.estimator, values built
by calls, classes with a base it cannot resolve or with __getattr__). A name is `Missing`
only when the module or class that should hold it is fully known and lacks it.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from pathlib import Path

from cortex_tools.tf21.protos import (
    MAP_MEMBERS,
    REPEATED_MEMBERS,
    Message,
    Protos,
    is_message,
    is_repeated,
)

# Where `tensorflow_core.NAME` is looked for: the root __init__ extends its __path__ with
# the keras API and the generated API tree.
ROOT_SEARCH = ("python/keras/api/_v2", "", "_api/v2")
# tensorflow.python, tensorflow.core...: importable in 2.1 (tensorflow/__init__.py forwards
# them to tensorflow_core) though deleted from the root namespace.
FILE_PACKAGES = ("python", "core", "compiler", "lite", "tools", "_api", "examples")
PROPERTY_DECORATORS = ("property", "cached_property", "setter", "getter", "deleter",
                       "abstractproperty")


# --- values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opaque:
    """Exists; what it is, or what is done with it, is not checked."""


OPAQUE = Opaque()


@dataclass(frozen=True)
class Missing:
    """A name that a fully known module, class or message lacks."""

    known: frozenset[str]  # the names it has, for "did you mean"


@dataclass(frozen=True)
class ModuleV:
    path: Path


@dataclass(frozen=True)
class ClassV:
    path: Path
    qualname: str


@dataclass(frozen=True)
class InstanceV:
    cls: ClassV


@dataclass(frozen=True)
class FunctionV:
    path: Path
    qualname: str
    bound: bool = False  # called through an instance (or a classmethod): drop `self`


@dataclass(frozen=True)
class MessageV:
    """A generated message class; calling it makes a MessageObj."""

    pb2: Path
    full_name: str


@dataclass(frozen=True)
class MessageObj:
    pb2: Path
    full_name: str


@dataclass(frozen=True)
class RepeatedV:
    """A repeated message field: its elements are MessageObj of `full_name`."""

    pb2: Path
    full_name: str


@dataclass(frozen=True)
class RepeatedAdd:
    """The `.add` method of a repeated message field."""

    pb2: Path
    full_name: str


@dataclass(frozen=True)
class MapV:
    pb2: Path
    entry: str  # the map entry message's full name


@dataclass(frozen=True)
class FieldNameMethod:
    """HasField / ClearField / WhichOneof of a message: their argument names a field."""

    pb2: Path
    full_name: str
    method: str


Value = (Opaque | Missing | ModuleV | ClassV | InstanceV | FunctionV | MessageV | MessageObj |
         RepeatedV | RepeatedAdd | MapV | FieldNameMethod)


# --- parsed modules and classes -----------------------------------------------------------


@dataclass
class ModuleInfo:
    path: Path
    dotted: str
    is_package: bool
    bindings: dict[str, list[tuple]]  # name -> its bindings in source order
    stars: list[str]  # modules imported with *
    classes: dict[str, ast.ClassDef]  # by qualname
    functions: dict[str, ast.FunctionDef]  # by qualname, methods too
    patches: list[tuple[list[str], str, ast.expr]]  # _current_module.A.B = expr
    dynamic: bool = False  # a module __getattr__, or sys.modules[__name__] replaced


@dataclass
class ClassMembers:
    names: dict[str, object]  # name -> ast node, "instance" or "builtin"
    open: bool  # a base or a hook makes its attributes unknowable
    mro: list[ClassV]


class ApiTree:
    def __init__(self, root: Path) -> None:
        self.root = root  # the folder holding tensorflow_core/
        self.package = root / "tensorflow_core"
        self.protos = Protos(root)
        self._modules: dict[Path, ModuleInfo | None] = {}
        self._patches: dict[tuple[Path, str], tuple[ModuleInfo, ast.expr]] = {}
        self._attributes: dict[tuple, Value] = {}
        self._resolving: set[tuple] = set()
        self._members: dict[ClassV, ClassMembers] = {}

    # --- entry points for user code -------------------------------------------------------

    def import_module(self, dotted: str) -> Value:
        """What `import dotted` binds to its last part, in TF 2.1 (Opaque outside TF)."""
        parts = dotted.split(".")
        if parts[0] != "tensorflow":
            return OPAQUE
        if len(parts) > 1 and parts[1] in FILE_PACKAGES:
            path = self.module_path("tensorflow_core." + ".".join(parts[1:]))
            return ModuleV(path) if path else Missing(frozenset())
        value: Value = ModuleV(self.package / "__init__.py")
        for part in parts[1:]:
            value = self.attribute(value, part)
            if not isinstance(value, ModuleV):
                return value
        return value

    def attribute(self, value: Value, name: str) -> Value:
        key = (value, name)
        if key not in self._attributes:
            self._attributes[key] = self._attribute(value, name)
        return self._attributes[key]

    def call(self, value: Value, positional: int, keywords: list[str], *, star: bool,
             double_star: bool) -> tuple[Value, str | None]:
        """The call's result and what is wrong with its arguments, if anything."""
        if isinstance(value, MessageV | RepeatedAdd):
            message = self._message(value.pb2, value.full_name)
            result = MessageObj(*self._owner(value.pb2, value.full_name))
            if message is None:
                return result, None
            if positional and not star:
                return result, "takes no positional arguments (fields are keywords)"
            unknown = [k for k in keywords if k not in message.fields]
            if unknown:
                return result, _unknown_keyword(unknown[0], sorted(message.fields), "field")
            return result, None
        if isinstance(value, FunctionV):
            node = self.info(value.path).functions[value.qualname]
            return OPAQUE, _argument_problem(node, value.bound, positional, keywords,
                                             star=star, double_star=double_star)
        if isinstance(value, ClassV):
            return InstanceV(value), self._constructor_problem(
                value, positional, keywords, star=star, double_star=double_star)
        return OPAQUE, None

    def element(self, value: Value) -> Value:
        """An item of `value` (subscript or iteration)."""
        if isinstance(value, RepeatedV):
            return MessageObj(value.pb2, value.full_name)
        if isinstance(value, MapV):
            entry = self._message(value.pb2, value.entry)
            if entry is not None and is_message(entry.fields["value"]):
                return MessageObj(*self._owner(value.pb2, entry.fields["value"].type_name))
        return OPAQUE

    def field_assignment_problem(self, value: Value, name: str) -> str | None:
        """Why `value.name = ...` fails, for a message; None when it may be assigned."""
        if not isinstance(value, MessageObj):
            return None
        message = self._message(value.pb2, value.full_name)
        if message is None:
            return None
        if name not in message.fields:
            return _unknown_name(name, message.fields, f"{value.full_name} has no field")
        field = message.fields[name]
        if is_message(field) or is_repeated(field):
            return (f"{value.full_name}.{name} is a message or repeated field, which cannot "
                    "be assigned: set its fields, or use CopyFrom / extend")
        return None

    def field_name_problem(self, value: FieldNameMethod, field: str) -> str | None:
        message = self._message(value.pb2, value.full_name)
        if message is None or field in message.fields:
            return None
        return _unknown_name(field, message.fields, f"{value.full_name} has no field")

    # --- attributes ---------------------------------------------------------------------------

    def _attribute(self, value: Value, name: str) -> Value:
        if isinstance(value, ModuleV):
            return self._module_attribute(value.path, name)
        if isinstance(value, ClassV | InstanceV):
            return self._class_attribute(value, name)
        if isinstance(value, MessageV | MessageObj):
            return self._message_attribute(value, name)
        if isinstance(value, RepeatedV):
            if name == "add":
                return RepeatedAdd(value.pb2, value.full_name)
            return OPAQUE if name in REPEATED_MEMBERS else Missing(REPEATED_MEMBERS)
        if isinstance(value, MapV):
            return OPAQUE if name in MAP_MEMBERS else Missing(MAP_MEMBERS)
        return OPAQUE

    def _module_attribute(self, path: Path, name: str) -> Value:
        info = self.info(path)
        if info is None:
            return OPAQUE
        key = (path, name)
        if key in self._resolving:  # `from . import x` inside x's own package, and cycles
            return self._submodule(info, name) or OPAQUE
        self._resolving.add(key)
        try:
            if info.path.name.endswith("_pb2.py"):
                proto_value = self._pb2_name(info, name)
                if proto_value is not None:
                    return proto_value
            if name in info.bindings:
                # The last binding counts; `setattr(_current_module, "x", x)` re-binds x to
                # its previous binding, not to itself.
                for binding in reversed(info.bindings[name]):
                    if not (binding[0] == "assign" and isinstance(binding[1], ast.Name) and
                            binding[1].id == name):
                        return self._binding(info, binding)
                return OPAQUE
            if key in self._patches:
                patched_in, expr = self._patches[key]
                return self._evaluate(patched_in, expr)
            for star in info.stars:
                star_path = self.module_path(star)
                if star_path is None:
                    if not _in_wheel(star):
                        return OPAQUE  # could come from outside TensorFlow
                    continue
                star_value = self._module_attribute(star_path, name)
                if not isinstance(star_value, Missing) and not name.startswith("_"):
                    return star_value
            submodule = self._submodule(info, name)
            if submodule is not None:
                return submodule
            if info.dynamic:
                return OPAQUE
            return Missing(frozenset(self._module_names(info)))
        finally:
            self._resolving.discard(key)

    def _binding(self, info: ModuleInfo, binding: tuple) -> Value:
        kind = binding[0]
        if kind == "import":
            path = self.module_path(binding[1])
            return ModuleV(path) if path else OPAQUE
        if kind == "from":
            base, name = binding[1], binding[2]
            base_path = self.module_path(base)
            if base_path is None:
                return OPAQUE  # outside the wheel (tensorboard, tensorflow_estimator, ...)
            value = self._module_attribute(base_path, name)
            return OPAQUE if isinstance(value, Missing) else value
        if kind == "def":
            return FunctionV(info.path, binding[1])
        if kind == "class":
            return ClassV(info.path, binding[1])
        if kind == "assign":
            return self._evaluate(info, binding[1])
        return OPAQUE

    def _evaluate(self, info: ModuleInfo, expr: ast.expr) -> Value:
        """A module-level expression of the wheel's own code: aliases are followed;
        anything else exists, unchecked."""
        if isinstance(expr, ast.Name):
            if expr.id in info.bindings or info.stars:
                value = self._module_attribute(info.path, expr.id)
                return OPAQUE if isinstance(value, Missing) else value
            return OPAQUE
        if isinstance(expr, ast.Attribute):
            base = self._evaluate(info, expr.value)
            value = self.attribute(base, expr.attr)
            return OPAQUE if isinstance(value, Missing) else value
        if isinstance(expr, ast.Call):  # float32 = DType(...): an instance of a known class
            called = self._evaluate(info, expr.func)
            if isinstance(called, ClassV):
                return InstanceV(called)
        return OPAQUE

    def _submodule(self, info: ModuleInfo, name: str) -> Value | None:
        if not info.is_package:
            return None
        path = self.module_path(f"{info.dotted}.{name}")
        return ModuleV(path) if path else None

    def _module_names(self, info: ModuleInfo) -> set[str]:
        names = set(info.bindings)
        for star in info.stars:
            star_path = self.module_path(star)
            star_info = self.info(star_path) if star_path else None
            if star_info is not None:
                names |= {n for n in star_info.bindings if not n.startswith("_")}
        if info.is_package:
            names |= {p.stem if p.suffix == ".py" else p.name for p in info.path.parent.iterdir()
                      if p.suffix == ".py" and p.name != "__init__.py" or
                      (p / "__init__.py").is_file()}
        return {n for n in names if not n.startswith("_")}

    # --- classes ------------------------------------------------------------------------------

    def _class_attribute(self, value: ClassV | InstanceV, name: str) -> Value:
        cls = value if isinstance(value, ClassV) else value.cls
        members = self.members(cls)
        via_instance = isinstance(value, InstanceV)
        if name not in members.names:
            return OPAQUE if members.open else Missing(frozenset(
                n for n in members.names if not n.startswith("_")))
        for owner in members.mro:
            node = self._class_body_names(owner).get(name)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                decorators = {_decorator_name(d) for d in node.decorator_list}
                if decorators & set(PROPERTY_DECORATORS):
                    return OPAQUE
                if "staticmethod" in decorators:
                    return FunctionV(owner.path, f"{owner.qualname}.{name}")
                bound = via_instance or "classmethod" in decorators
                return FunctionV(owner.path, f"{owner.qualname}.{name}", bound=bound)
            if isinstance(node, ast.ClassDef):
                return ClassV(owner.path, f"{owner.qualname}.{name}")
            if node is not None:
                return OPAQUE
        return OPAQUE

    def members(self, cls: ClassV) -> ClassMembers:
        if cls not in self._members:
            self._members[cls] = ClassMembers({}, True, [cls])  # a cycle finds it open
            self._members[cls] = self._compute_members(cls)
        return self._members[cls]

    def _compute_members(self, cls: ClassV) -> ClassMembers:
        info = self.info(cls.path)
        node = info.classes.get(cls.qualname) if info else None
        if node is None:
            return ClassMembers({}, True, [cls])
        names: dict[str, object] = {n: "builtin" for n in dir(object)}
        open_ = any(k.arg == "metaclass" for k in node.keywords)
        mro = [cls]
        for base in node.bases:
            base_value = self._evaluate_base(info, base)
            if isinstance(base_value, ClassV):
                base_members = self.members(base_value)
                names.update(base_members.names)
                open_ = open_ or base_members.open
                mro += [c for c in base_members.mro if c not in mro]
            elif isinstance(base_value, type):  # object, Exception, ...
                names.update((n, "builtin") for n in dir(base_value))
            else:
                open_ = True
        own = self._class_body_names(cls)
        names.update(own)
        open_ = open_ or "__getattr__" in own or "__getattribute__" in own
        for function in (n for n in node.body if isinstance(n, ast.FunctionDef)):
            names.update((n, "instance") for n in _self_attributes(function))
        return ClassMembers(names, open_, mro)

    def _class_body_names(self, cls: ClassV) -> dict[str, object]:
        info = self.info(cls.path)
        node = info.classes.get(cls.qualname) if info else None
        if node is None:
            return {}
        names: dict[str, object] = {}
        for statement in _flat_body(node.body):
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                # the last definition wins: a property's setter is a property too
                names[statement.name] = statement
            elif isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = statement.targets if isinstance(statement, ast.Assign) else \
                    [statement.target]
                for target in targets:
                    for name in _target_names(target):
                        names[name] = "assigned"
                if isinstance(statement, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "__slots__"
                        for t in statement.targets):
                    names.update((s, "instance") for s in _string_literals(statement.value))
            elif isinstance(statement, ast.Import | ast.ImportFrom):
                names.update((a.asname or a.name.split(".")[0], "assigned")
                             for a in statement.names)
        return names

    def _evaluate_base(self, info: ModuleInfo, base: ast.expr):
        if isinstance(base, ast.Name) and base.id not in info.bindings and not info.stars:
            builtin = getattr(builtins, base.id, None)
            return builtin if isinstance(builtin, type) else OPAQUE
        if isinstance(base, ast.Name) and base.id not in info.bindings:
            value = self._module_attribute(info.path, base.id)
            if isinstance(value, Missing):
                builtin = getattr(builtins, base.id, None)
                return builtin if isinstance(builtin, type) else OPAQUE
            return value
        return self._evaluate(info, base)

    def _constructor_problem(self, cls: ClassV, positional: int, keywords: list[str], *,
                             star: bool, double_star: bool) -> str | None:
        members = self.members(cls)
        for owner in members.mro:
            body = self._class_body_names(owner)
            if "__new__" in body:
                return None
            init = body.get("__init__")
            if isinstance(init, ast.FunctionDef):
                return _argument_problem(init, True, positional, keywords, star=star,
                                         double_star=double_star)
        return None  # object's, a builtin's or an unknown base's __init__: not checked

    # --- protobuf -----------------------------------------------------------------------------

    def _pb2_name(self, info: ModuleInfo, name: str) -> Value | None:
        proto_file = self.protos.file(info.path)
        if proto_file is None or name not in proto_file.top_level:
            return None
        kind, full_name = proto_file.top_level[name]
        return MessageV(info.path, full_name) if kind == "message" else OPAQUE

    def _message(self, pb2: Path, full_name: str) -> Message | None:
        found = self.protos.find(full_name, pb2)
        return found[1] if found else None

    def _owner(self, pb2: Path, full_name: str) -> tuple[Path, str]:
        found = self.protos.find(full_name, pb2)
        return (found[0] if found else pb2), full_name.lstrip(".")

    def _message_attribute(self, value: MessageV | MessageObj, name: str) -> Value:
        message = self._message(value.pb2, value.full_name)
        if message is None:
            return OPAQUE
        known = message.instance_members() if isinstance(value, MessageObj) else \
            message.class_members()
        if name not in known:
            return Missing(frozenset(n for n in known if not n.startswith("_")))
        if name in message.nested:
            return MessageV(*self._owner(value.pb2, message.nested[name]))
        if name in ("HasField", "ClearField", "WhichOneof"):
            return FieldNameMethod(value.pb2, message.full_name, name)
        if isinstance(value, MessageObj) and name in message.fields:
            field = message.fields[name]
            if not is_message(field):
                return OPAQUE
            owner, type_name = self._owner(value.pb2, field.type_name)
            field_type = self._message(owner, type_name)
            if is_repeated(field):
                if field_type is not None and field_type.map_entry:
                    return MapV(owner, type_name)
                return RepeatedV(owner, type_name)
            return MessageObj(owner, type_name)
        return OPAQUE

    # --- files ----------------------------------------------------------------------------

    def module_path(self, dotted: str) -> Path | None:
        """The file of a module of the wheel (tensorflow.x or tensorflow_core.x)."""
        parts = dotted.split(".")
        if parts[0] not in ("tensorflow", "tensorflow_core"):
            return None
        rest = parts[1:]
        if not rest:
            return self.package / "__init__.py"
        for prefix in ROOT_SEARCH:
            candidate = self.package.joinpath(prefix, *rest)
            for path in (candidate / "__init__.py", Path(str(candidate) + ".py")):
                if path.is_file():
                    return path
        return None

    def info(self, path: Path | None) -> ModuleInfo | None:
        if path is None:
            return None
        if path not in self._modules:
            self._modules[path] = None  # a cycle sees nothing rather than recursing
            info = _parse_module(path, self._dotted(path))
            self._modules[path] = info
            if info is not None:
                self._register_patches(info)
        return self._modules[path]

    def _register_patches(self, info: ModuleInfo) -> None:
        for chain, name, expr in info.patches:
            value: Value = ModuleV(info.path)
            for part in chain:
                value = self.attribute(value, part)
            if isinstance(value, ModuleV):
                self._patches.setdefault((value.path, name), (info, expr))

    def _dotted(self, path: Path) -> str:
        relative = path.relative_to(self.root).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)


# --- parsing ------------------------------------------------------------------------------


def _parse_module(path: Path, dotted: str) -> ModuleInfo | None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return None
    is_package = path.name == "__init__.py"
    info = ModuleInfo(path, dotted, is_package, {}, [], {}, {}, [])
    package = dotted.split(".") if is_package else dotted.split(".")[:-1]
    for statement in _flat_body(tree.body):
        _bind_statement(info, statement, package)
    for node in tree.body:
        _index_definitions(info, node, "")
    info.dynamic = "__getattr__" in info.bindings or any(
        _replaces_itself(node) for node in ast.walk(tree))
    return info


def _replaces_itself(node: ast.AST) -> bool:
    """`sys.modules[__name__] = ...`: the module's names are then another object's."""
    return isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and \
        ast.unparse(node.value).endswith("modules") and ast.unparse(node.slice) == "__name__"


def _bind_statement(info: ModuleInfo, statement: ast.stmt, package: list[str]) -> None:
    bind = info.bindings.setdefault
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            if alias.asname:
                bind(alias.asname, []).append(("import", alias.name))
            else:
                top = alias.name.split(".")[0]
                bind(top, []).append(("import", top))
    elif isinstance(statement, ast.ImportFrom):
        base = statement.module or ""
        if statement.level:
            prefix = package[: len(package) - (statement.level - 1)]
            base = ".".join(prefix + ([base] if base else []))
        for alias in statement.names:
            if alias.name == "*":
                info.stars.append(base)
            else:
                bind(alias.asname or alias.name, []).append(("from", base, alias.name))
    elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
        bind(statement.name, []).append(("def", statement.name))
    elif isinstance(statement, ast.ClassDef):
        bind(statement.name, []).append(("class", statement.name))
    elif isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        for target in targets:
            if isinstance(target, ast.Name):
                simple = isinstance(statement, ast.Assign) and statement.value is not None
                bind(target.id, []).append(("assign", statement.value) if simple
                                           else ("opaque",))
            elif isinstance(target, ast.Attribute) and isinstance(statement, ast.Assign):
                chain = _current_module_chain(target.value)
                if chain is not None:
                    info.patches.append((chain, target.attr, statement.value))
            else:
                for name in _target_names(target):
                    bind(name, []).append(("opaque",))
    elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value  # setattr(_current_module, "name", value)
        if isinstance(call.func, ast.Name) and call.func.id == "setattr" and \
                len(call.args) == 3 and _current_module_chain(call.args[0]) == [] and \
                isinstance(call.args[1], ast.Constant) and isinstance(call.args[1].value, str):
            bind(call.args[1].value, []).append(("assign", call.args[2]))


def _current_module_chain(expr: ast.expr) -> list[str] | None:
    """[] for `_current_module`, ["app"] for `_current_module.app`, else None."""
    chain: list[str] = []
    while isinstance(expr, ast.Attribute):
        chain.insert(0, expr.attr)
        expr = expr.value
    return chain if isinstance(expr, ast.Name) and expr.id == "_current_module" else None


def _index_definitions(info: ModuleInfo, node: ast.stmt, prefix: str) -> None:
    for statement in _flat_body([node]):
        if isinstance(statement, ast.ClassDef):
            qualname = prefix + statement.name
            info.classes[qualname] = statement
            for child in statement.body:
                _index_definitions(info, child, qualname + ".")
        elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            info.functions.setdefault(prefix + statement.name, statement)


def _flat_body(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements of a body, with those of its if/try/with blocks, in source order."""
    flat: list[ast.stmt] = []
    for statement in body:
        if isinstance(statement, ast.If):
            flat += _flat_body(statement.body) + _flat_body(statement.orelse)
        elif isinstance(statement, ast.Try):
            flat += _flat_body(statement.body)
            for handler in statement.handlers:
                flat += _flat_body(handler.body)
            flat += _flat_body(statement.orelse) + _flat_body(statement.finalbody)
        elif isinstance(statement, ast.With):
            flat += _flat_body(statement.body)
        else:
            flat.append(statement)
    return flat


def _target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [n for element in target.elts for n in _target_names(element)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []


def _self_attributes(function: ast.FunctionDef) -> set[str]:
    """Names a method sets on its first argument: self.x = ..., setattr(self, "x", ...)."""
    arguments = function.args.posonlyargs + function.args.args
    if not arguments:
        return set()
    me = arguments[0].arg
    names = set()
    for node in ast.walk(function):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            for element in (target.elts if isinstance(target, ast.Tuple | ast.List)
                            else [target]):
                if isinstance(element, ast.Attribute) and isinstance(element.value, ast.Name) \
                        and element.value.id == me:
                    names.add(element.attr)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "setattr" and len(node.args) >= 2 and \
                isinstance(node.args[0], ast.Name) and node.args[0].id == me and \
                isinstance(node.args[1], ast.Constant):
            names.add(str(node.args[1].value))
    return names


def _string_literals(expr: ast.expr) -> list[str]:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [expr.value]
    if isinstance(expr, ast.Tuple | ast.List):
        return [e.value for e in expr.elts if isinstance(e, ast.Constant) and
                isinstance(e.value, str)]
    return []


def _decorator_name(decorator: ast.expr) -> str:
    if isinstance(decorator, ast.Call):
        decorator = decorator.func
    if isinstance(decorator, ast.Attribute):
        return decorator.attr
    return decorator.id if isinstance(decorator, ast.Name) else ""


def _argument_problem(node: ast.FunctionDef, bound: bool, positional: int,
                      keywords: list[str], *, star: bool, double_star: bool) -> str | None:
    args = node.args
    ordered = [a.arg for a in args.posonlyargs + args.args]
    if bound and ordered:
        ordered = ordered[1:]
    keyword_names = [a.arg for a in args.args] + [a.arg for a in args.kwonlyargs]
    if bound and args.args and not args.posonlyargs:
        keyword_names = keyword_names[1:]
    if args.kwarg is None:
        unknown = [k for k in keywords if k not in keyword_names]
        if unknown:
            return _unknown_keyword(unknown[0], keyword_names, "parameter")
    if args.vararg is None and not star and positional > len(ordered):
        return (f"takes at most {len(ordered)} positional argument"
                f"{'' if len(ordered) == 1 else 's'}, got {positional}")
    if not star and not double_star:
        required = ordered[: len(ordered) - len(args.defaults)]
        missing = [name for name in required[positional:] if name not in keywords]
        required_kw = [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
                       if d is None and a.arg not in keywords]
        if missing or required_kw:
            return f"misses the argument {(missing + required_kw)[0]}"
    return None


def _unknown_keyword(name: str, known: list[str], what: str) -> str:
    return _unknown_name(name, known, f"has no {what}")


def _unknown_name(name: str, known, what: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"{what} {name}" + (f" (did you mean {close[0]}?)" if close else "")


def _in_wheel(dotted: str) -> bool:
    return dotted.partition(".")[0] in ("tensorflow", "tensorflow_core")
