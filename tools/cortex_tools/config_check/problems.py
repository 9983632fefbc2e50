"""What a check finds, and how it reads on one line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    severity: str  # ERROR or WARNING
    line: int | None
    api: str | None  # the API's name, when it has one
    key: str  # dotted, relative to the API: "autoscaling.threads_per_worker"
    message: str  # "what is wrong (what is allowed)"
    file: str = ""
    api_index: int | None = None  # 0-based; names an API that has no usable name

    def format(self) -> str:
        """FILE:LINE: api NAME: key: what is wrong (what is allowed)"""
        parts = [self.file if self.line is None else f"{self.file}:{self.line}"]
        if self.api is not None:
            parts.append(f"api {self.api}")
        elif self.api_index is not None:
            parts.append(f"api #{self.api_index + 1}")
        if self.key:
            parts.append(self.key)
        parts.append(self.message if self.severity == ERROR else f"warning: {self.message}")
        return ": ".join(parts)


@dataclass
class Result:
    path: Path
    project_dir: Path
    strict: bool = False
    problems: list[Problem] = field(default_factory=list)
    apis: list[dict[str, Any]] = field(default_factory=list)
    built: int = 0  # APIs whose predictor the build check built (passing or not)
    s3_not_built: int = 0  # template APIs the build check skipped: their model is at s3://

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors and not (self.strict and self.warnings)

    def sort(self) -> None:
        """File order: the config file's problems first (one without a line, about the whole
        file, before the others), then other files' (requirements.txt), each by line."""
        config = str(self.path)
        self.problems.sort(key=lambda p: (p.file != config, p.file, p.line or 0))


class ApiScope:
    """Collects the problems of one API; paths are relative to the API."""

    def __init__(self, result: Result, lines, index: int, raw: dict[str, Any]) -> None:
        self.result, self.lines, self.index, self.raw = result, lines, index, raw
        name = raw.get("name")
        self.name = name if isinstance(name, str) and name else None
        self.bad: set[tuple] = set()  # paths with an error: later checks skip them

    def error(self, path: tuple, message: str) -> None:
        self.bad.add(path)
        self._add(ERROR, path, message)

    def warning(self, path: tuple, message: str, line: int | None = None) -> None:
        self._add(WARNING, path, message, line)

    def is_bad(self, *paths: tuple) -> bool:
        """True if any of `paths`, or a parent of one, already has an error."""
        return any(path[:n] in self.bad for path in paths for n in range(len(path) + 1))

    def _add(self, severity: str, path: tuple, message: str, line: int | None = None) -> None:
        self.result.problems.append(
            Problem(
                severity=severity,
                line=line or self.lines.line_of((self.index, *path)),
                api=self.name,
                key=".".join(str(part) for part in path),
                message=message,
                file=str(self.result.path),
                api_index=self.index,
            )
        )
