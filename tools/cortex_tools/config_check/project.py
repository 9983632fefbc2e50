"""Which files `cortex deploy` uploads: the project is the config file's folder.

Cortex leaves out the config file itself, hidden files and folders, __pycache__,
*.pyc/*.pyo/*.pyd, cortex-debug-* and whatever .cortexignore names (cli/cmd/deploy.go).
A path in the config must name something in that upload, or the API fails on the
cluster even though it works on this machine.

.cortexignore is gitignore syntax (Cortex reads it with go-gitignore); pathspec's
GitIgnoreSpec matches it here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from pathspec import GitIgnoreSpec

ROOT = PurePosixPath(".")


class Project:
    def __init__(self, root: Path, config_file: Path) -> None:
        self.root = root
        self.config_name = config_file.name
        self.ignore = _read_cortexignore(root / ".cortexignore")

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
        # A trailing "/" lets folder-only patterns ("model/") match folders alone.
        return self.ignore.match_file(str(relative) + ("/" if is_dir else ""))


def _read_cortexignore(path: Path) -> GitIgnoreSpec:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    return GitIgnoreSpec.from_lines(text.splitlines())
