"""Which files `cortex deploy` uploads: the project is the config file's folder.

Cortex leaves out the config file itself, hidden files and folders, __pycache__,
*.pyc/*.pyo/*.pyd, cortex-debug-* and whatever .cortexignore names (cli/cmd/deploy.go).
A path in the config must name something in that upload, or the API fails on the
cluster even though it works on this machine.

.cortexignore is read with a gitignore subset: comments, blank lines, `!` negation,
a trailing `/` for folders only, and a `/` inside a pattern to anchor it at the
project root; `*`, `?` and `[...]` match as in fnmatch.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

ROOT = PurePosixPath(".")


class Project:
    def __init__(self, root: Path, config_file: Path) -> None:
        self.root = root
        self.config_name = config_file.name
        self.patterns = _read_cortexignore(root / ".cortexignore")

    def locate(self, value: str) -> tuple[PurePosixPath | None, str | None]:
        """The project-relative path of `value`, or why it cannot be in the project."""
        if os.path.isabs(value) or value.startswith("~"):
            return None, "is not relative to the config file's folder"
        relative = PurePosixPath(os.path.normpath(value.replace("\\", "/")))
        if relative.parts[:1] == ("..",):
            return None, "is outside the project folder"
        return relative, None

    def left_out(self, relative: PurePosixPath, is_dir: bool) -> str | None:
        """Why `relative` is not uploaded, or None if it is."""
        parts = relative.parts
        for depth, name in enumerate(parts):
            last = depth == len(parts) - 1
            folder = not last or is_dir
            if name.startswith("."):
                return f"is hidden ({name} starts with '.'), and Cortex does not upload it"
            if name == "__pycache__" or name.startswith("cortex-debug-"):
                return "is left out of the upload by Cortex"
            if self._ignored(PurePosixPath(*parts[: depth + 1]), folder):
                return "is left out of the upload by .cortexignore"
        if not is_dir and relative.suffix in (".pyc", ".pyo", ".pyd"):
            return "is compiled Python, which Cortex does not upload"
        if not is_dir and relative == PurePosixPath(self.config_name):
            return "is the config file, which Cortex does not upload"
        return None

    def uploaded_files(self, folder: PurePosixPath = ROOT) -> Iterator[PurePosixPath]:
        """Each file under `folder` that `cortex deploy` uploads, project-relative."""
        for dirpath, dirnames, filenames in os.walk(self.root / folder):
            here = PurePosixPath(Path(dirpath).relative_to(self.root).as_posix())
            dirnames[:] = [d for d in dirnames if self.left_out(here / d, True) is None]
            yield from (here / f for f in filenames if self.left_out(here / f, False) is None)

    def uploads_any(self, folder: PurePosixPath) -> bool:
        """True if at least one file under `folder` is uploaded."""
        return next(self.uploaded_files(folder), None) is not None

    def _ignored(self, relative: PurePosixPath, is_dir: bool) -> bool:
        ignored = False
        for negate, dir_only, anchored, pattern in self.patterns:
            if dir_only and not is_dir:
                continue
            target = str(relative) if anchored else relative.name
            if fnmatch.fnmatchcase(target, pattern):
                ignored = not negate
        return ignored


def _read_cortexignore(path: Path) -> list[tuple[bool, bool, bool, str]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = line.removeprefix("!")
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        patterns.append((negate, dir_only, anchored, line.lstrip("/")))
    return patterns
