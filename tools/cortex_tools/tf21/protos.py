"""TF 2.1's protobuf messages, read from the wheel's generated ``*_pb2.py`` files.

Each ``*_pb2.py`` of protoc 3.8 holds its .proto file as a serialized FileDescriptorProto
(``DESCRIPTOR = _descriptor.FileDescriptor(..., serialized_pb=_b('...'))``). That literal
is read with ``ast`` (the file is never executed: its old generated code does not run
with a current protobuf) and parsed with the local ``google.protobuf.descriptor_pb2``.
Field types that name another file's message are looked up in the files it depends on.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import descriptor_pb2

LABEL_REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
TYPE_MESSAGE = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE

# What every generated message class and instance has besides its fields
# (google.protobuf.message.Message and the generated class's own members).
MESSAGE_MEMBERS = frozenset((
    "ByteSize", "Clear", "ClearExtension", "ClearField", "CopyFrom", "DESCRIPTOR",
    "DiscardUnknownFields", "Extensions", "FindInitializationErrors", "FromString",
    "HasExtension", "HasField", "IsInitialized", "ListFields", "MergeFrom", "MergeFromString",
    "ParseFromString", "RegisterExtension", "SerializePartialToString", "SerializeToString",
    "SetInParent", "UnknownFields", "WhichOneof", "__class__", "__deepcopy__", "__dict__",
    "__eq__", "__getstate__", "__hash__", "__init__", "__ne__", "__reduce__", "__repr__",
    "__setstate__", "__str__", "__unicode__", "__module__", "__doc__", "__slots__",
    "_extensions_by_name", "_extensions_by_number",
))
REPEATED_MEMBERS = frozenset((
    "add", "append", "extend", "insert", "pop", "remove", "reverse", "sort", "MergeFrom",
    "CopyFrom", "__len__", "__iter__", "__getitem__", "__delitem__", "__eq__", "__ne__",
    "__contains__",
))
MAP_MEMBERS = frozenset((
    "get", "get_or_create", "keys", "values", "items", "clear", "pop", "popitem", "setdefault",
    "update", "MergeFrom", "__contains__", "__getitem__", "__len__", "__iter__", "__delitem__",
    "__setitem__",
))


@dataclass
class Message:
    """One message type: its fields, nested types and the enum values of its nested enums."""

    full_name: str
    fields: dict[str, descriptor_pb2.FieldDescriptorProto]
    nested: dict[str, str] = field(default_factory=dict)  # name -> nested message full name
    enums: set[str] = field(default_factory=set)  # nested enum type names
    enum_values: set[str] = field(default_factory=set)
    map_entry: bool = False

    def class_members(self) -> set[str]:
        constants = {f"{name.upper()}_FIELD_NUMBER" for name in self.fields}
        return set(self.nested) | self.enums | self.enum_values | constants | MESSAGE_MEMBERS

    def instance_members(self) -> set[str]:
        return self.class_members() | set(self.fields)


@dataclass
class ProtoFile:
    path: Path
    proto: descriptor_pb2.FileDescriptorProto
    messages: dict[str, Message]  # by full name, nested ones too
    top_level: dict[str, tuple[str, str]]  # module name -> ("message"|"enum"|..., full name)


class Protos:
    """The wheel's proto files, parsed on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root  # the folder holding tensorflow_core/
        self._files: dict[Path, ProtoFile | None] = {}

    def file(self, path: Path) -> ProtoFile | None:
        if path not in self._files:
            self._files[path] = _read(path)
        return self._files[path]

    def find(self, full_name: str, where: Path) -> tuple[Path, Message] | None:
        """The message `full_name` (".pkg.Name" or "pkg.Name") as seen from file `where`,
        and the pb2 file that defines it: `where` or a file it depends on."""
        name = full_name.lstrip(".")
        seen: set[Path] = set()
        pending = [where]
        while pending:
            path = pending.pop()
            if path in seen:
                continue
            seen.add(path)
            proto_file = self.file(path)
            if proto_file is None:
                continue
            if name in proto_file.messages:
                return path, proto_file.messages[name]
            pending += [self.pb2_path(dep) for dep in proto_file.proto.dependency]
        return None

    def pb2_path(self, proto_name: str) -> Path:
        """tensorflow/core/framework/graph.proto -> <root>/tensorflow_core/core/framework/
        graph_pb2.py"""
        parts = proto_name[: -len(".proto")].split("/")
        if parts[0] == "tensorflow":
            parts[0] = "tensorflow_core"
        return self.root.joinpath(*parts[:-1], parts[-1] + "_pb2.py")


def is_repeated(field_proto) -> bool:
    return field_proto.label == LABEL_REPEATED


def is_message(field_proto) -> bool:
    return field_proto.type == TYPE_MESSAGE


def _read(path: Path) -> ProtoFile | None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    serialized = _serialized_descriptor(tree)
    if serialized is None:
        return None
    proto = descriptor_pb2.FileDescriptorProto()
    proto.ParseFromString(serialized)
    messages: dict[str, Message] = {}
    prefix = proto.package + "." if proto.package else ""
    for message in proto.message_type:
        _add_message(message, prefix, messages)
    top_level = {m.name: ("message", prefix + m.name) for m in proto.message_type}
    for enum in proto.enum_type:
        top_level[enum.name] = ("enum", prefix + enum.name)
        for value in enum.value:
            top_level[value.name] = ("enum value", prefix + enum.name)
    for extension in proto.extension:
        top_level[extension.name] = ("extension", prefix + extension.name)
    return ProtoFile(path, proto, messages, top_level)


def _add_message(message, prefix: str, messages: dict[str, Message]) -> None:
    full_name = prefix + message.name
    info = Message(full_name, {f.name: f for f in message.field},
                   map_entry=message.options.map_entry)
    for nested in message.nested_type:
        info.nested[nested.name] = f"{full_name}.{nested.name}"
        _add_message(nested, full_name + ".", messages)
    for enum in message.enum_type:
        info.enums.add(enum.name)
        info.enum_values.update(value.name for value in enum.value)
    messages[full_name] = info


def _serialized_descriptor(tree: ast.Module) -> bytes | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "serialized_pb":
            value = node.value
            if isinstance(value, ast.Call) and value.args:  # _b('...')
                value = value.args[0]
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value.encode("latin1")  # what _b does on Python 3
            if isinstance(value, ast.Constant) and isinstance(value.value, bytes):
                return value.value
    return None
