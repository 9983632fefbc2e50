"""Read a config file into plain Python data plus the line of every key and list item.

PyYAML's composer keeps each node's position; the constructor throws it away. So the
file is composed once, the node tree is walked for lines, and the same tree is then
constructed into data. Paths are tuples: (0, "autoscaling", "window") is the key
`window` under `autoscaling` in the first API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[Any, ...]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAX_DEPTH = 50  # far deeper than any config; stops the walk on recursive aliases


class ConfigFileError(Exception):
    """The file cannot be read as YAML at all; one line says why."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class YamlDocument:
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    # Keys written twice in one mapping: PyYAML, like Cortex's Go reader, keeps the
    # last one silently, which is rarely what the author meant.
    duplicates: list[tuple[Path_, int]] = field(default_factory=list)

    def line_of(self, path: Path_) -> int | None:
        """The line of `path`, or of its nearest ancestor that is in the file."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def load_yaml(path: Path) -> YamlDocument:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigFileError("no such file (a cortex*.yaml file to check)") from None
    except IsADirectoryError:
        raise ConfigFileError("is a folder, not a file (a cortex*.yaml file to check)") from None
    except OSError as exc:
        raise ConfigFileError(f"cannot be read: {exc.strerror} (a readable YAML file)") from None

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigFileError(
            f"is not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
            "(Cortex reads configs as UTF-8; save the file as UTF-8)",
            line,
        ) from None

    text = text.removeprefix("\ufeff")
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # a character YAML refuses anywhere in a file
        raise ConfigFileError(
            f"is not valid YAML: character #x{exc.character:04x} is not allowed "
            "(printable text; remove control characters)",
            text.count("\n", 0, exc.position) + 1,
        ) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(data=None)
        lines: dict[Path_, int] = {(): node.start_mark.line + 1}
        duplicates: list[tuple[Path_, int]] = []
        # Duplicates are looked for before construction, because constructing flattens
        # `<<` merge keys into the mapping, where an override would look like a duplicate.
        _find_duplicates(loader, node, (), duplicates)
        data = loader.construct_document(node)
        _record_lines(loader, node, (), lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = ", ".join(part for part in (exc.context, exc.problem) if part) or "unreadable"
        raise ConfigFileError(
            f"is not valid YAML: {what} (a YAML list of APIs; check indentation and quoting)",
            mark.line + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:  # no position known
        raise ConfigFileError(f"is not valid YAML: {' '.join(str(exc).split())}") from None
    finally:
        loader.dispose()
    return YamlDocument(data=data, lines=lines, duplicates=duplicates)


def _key(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    key = loader.construct_object(node, deep=True)
    return key if isinstance(key, (str, int, float, bool, type(None))) else repr(key)


def _find_duplicates(loader, node, path: Path_, out: list[tuple[Path_, int]]) -> None:
    if len(path) > _MAX_DEPTH:  # a recursive alias (&a [*a]) would never end
        return
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = _key(loader, key_node)
            if key in seen:
                out.append((path + (key,), key_node.start_mark.line + 1))
            seen.add(key)
            _find_duplicates(loader, value_node, path + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _find_duplicates(loader, item, path + (index,), out)


def _record_lines(loader, node, path: Path_, lines: dict[Path_, int]) -> None:
    if len(path) > _MAX_DEPTH:
        return
    if isinstance(node, yaml.MappingNode):
        # After construction the mapping is flattened; a later key wins, as in the data.
        for key_node, value_node in node.value:
            child = path + (_key(loader, key_node),)
            lines[child] = key_node.start_mark.line + 1
            _record_lines(loader, value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (index,)] = item.start_mark.line + 1
            _record_lines(loader, item, path + (index,), lines)
