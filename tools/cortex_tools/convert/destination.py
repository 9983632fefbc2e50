"""DEST is replaced whole or not at all: the model is written to a temporary folder beside
it (same file system, so the final move is a rename) and moved into place only once it is
verified. On any failure the temporary folder goes and DEST is as it was.

DEST may be absent, an empty folder, a folder holding only its README.md (model/ after
`make remove-example`) or a SavedModel folder (a model made earlier, or SRC itself:
converting in place keeps `model: model` in the config); anything else stays. DEST's
README.md is kept: it moves into the new DEST.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

from cortex_tools.convert.errors import ConvertError

NOTES = "README.md"  # model/README.md: what goes in model/, no part of any model


def check(dest: str) -> None:
    """ConvertError when DEST holds something a model must not replace."""
    if os.path.isfile(dest) or os.path.islink(dest):
        raise ConvertError(f"DEST {dest} is a file: name a folder (the SavedModel's)")
    if os.path.isdir(dest):
        names = set(os.listdir(dest)) - {NOTES}
        if names and not {"saved_model.pb", "saved_model.pbtxt"} & names:
            raise ConvertError(f"DEST {dest} is a folder holding {', '.join(sorted(names)[:5])}"
                               ", not a SavedModel: name another DEST, or empty it")


@contextlib.contextmanager
def staged(dest: str) -> Iterator[str]:
    """A temporary folder to write the model in; moved to DEST when the block ends without
    an error, removed otherwise."""
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    folder = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(dest))}-convert-",
                              dir=parent)
    try:
        yield folder
        os.chmod(folder, 0o755)  # mkdtemp's 0700 would keep the model from other users
        if os.path.isfile(os.path.join(dest, NOTES)):
            shutil.copy2(os.path.join(dest, NOTES), os.path.join(folder, NOTES))
        _replace(folder, dest)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _replace(folder: str, dest: str) -> None:
    if not os.path.exists(dest):
        os.rename(folder, dest)
        return
    # The old DEST moves aside first, then the new one in: two renames, never a moment
    # with a half-written DEST.
    old = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(dest))}-old-",
                           dir=os.path.dirname(os.path.abspath(dest)))
    os.rmdir(old)
    os.rename(dest, old)
    try:
        os.rename(folder, dest)
    except OSError:
        os.rename(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)
