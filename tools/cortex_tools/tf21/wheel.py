"""The tensorflow-cpu 2.1.0 wheel: fetched once with pip, checked by its sha256, cached.

The cache is a user folder ($CORTEX_TOOLS_CACHE, else $XDG_CACHE_HOME/cortex-tools, else
~/.cache/cortex-tools), so `make clean` (which removes .venv) does not fetch it again.
Only what the checks read is extracted: the C library and the framework library beside it
(the model check) and the Python sources, whose API tree, function definitions and
``*_pb2.py`` descriptors the API check reads as text. The wheel is kept beside them, so a
new extraction layout needs no second download.

The fetch is the only network use of the package: ``pip download`` (the ordinary client,
with the user's pip configuration) of one pinned file from PyPI.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cortex_tools.tf21 import TF_VERSION

WHEEL_NAME = f"tensorflow_cpu-{TF_VERSION}-cp36-cp36m-manylinux2010_x86_64.whl"
WHEEL_SHA256 = "00116a939d66de4e895e34e0a34db606381eaee52de9144bcea9f6d3ad427f8c"
WHEEL_SIZE = 104_606_713  # bytes, as PyPI serves it
CACHE_ENV = "CORTEX_TOOLS_CACHE"
LAYOUT = 1  # bump when the extracted members change: the kept wheel is extracted again

C_LIBRARY = "tensorflow_core/python/_pywrap_tensorflow_internal.so"
FRAMEWORK_LIBRARY = "tensorflow_core/libtensorflow_framework.so.2"
MARKER = ".complete"


class SetupError(RuntimeError):
    """What the checks need and cannot get here, in one line that says how to get it."""


@dataclass(frozen=True)
class Extracted:
    """The extracted wheel: `root` holds tensorflow_core/ as the wheel lays it out."""

    root: Path

    @property
    def package(self) -> Path:
        return self.root / "tensorflow_core"

    @property
    def c_library(self) -> Path:
        return self.root / C_LIBRARY


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "cortex-tools"


def tf21_dir(cache: Path | None = None) -> Path:
    return (cache or cache_root()) / f"tensorflow-cpu-{TF_VERSION}"


def ensure(cache: Path | None = None) -> Extracted:
    """The extracted wheel, fetched and extracted first if this cache lacks it."""
    folder = tf21_dir(cache)
    extracted = Extracted(folder / "extracted")
    if _complete(extracted):
        return extracted
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder / ".lock"):  # another check may be fetching into the same cache
        if not _complete(extracted):
            wheel = folder / WHEEL_NAME
            if not _has_pinned_hash(wheel):
                fetch(folder)
            _extract(wheel, extracted.root)
    return extracted


def fetch(folder: Path) -> Path:
    """Download the pinned wheel into `folder` with pip and check its sha256; one line
    first, since pip shows no progress here and the wheel is large."""
    folder.mkdir(parents=True, exist_ok=True)
    print(f"TensorFlow {TF_VERSION} for the checks: pip downloads {WHEEL_NAME} "
          f"({WHEEL_SIZE / 1e6:.0f} MB) into {folder}, once", flush=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--no-cache-dir", "--only-binary=:all:", "--implementation", "cp",
                   "--python-version", "3.6", "--abi", "cp36m",
                   "--platform", "manylinux2010_x86_64", "--dest", tmp,
                   f"tensorflow-cpu=={TF_VERSION}"]
        done = subprocess.run(command, capture_output=True, text=True)
        downloaded = Path(tmp) / WHEEL_NAME
        if done.returncode != 0 or not downloaded.is_file():
            reason = _last_line(done.stderr) or _last_line(done.stdout) or "no file"
            raise SetupError(
                f"TensorFlow {TF_VERSION} is not in the cache {folder} and pip cannot fetch "
                f"it ({reason}): connect to PyPI once for tensorflow-cpu=={TF_VERSION} "
                f"({WHEEL_SIZE / 1e6:.0f} MB), or put {WHEEL_NAME} (sha256 "
                f"{WHEEL_SHA256[:12]}...) there")
        digest = sha256(downloaded)
        if digest != WHEEL_SHA256:
            raise SetupError(f"the downloaded {WHEEL_NAME} has sha256 {digest}, not the "
                             f"pinned {WHEEL_SHA256}: not using it")
        target = folder / WHEEL_NAME
        os.replace(downloaded, target)
    return target


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def needed(member: str) -> bool:
    """The wheel members the checks read."""
    if member in (C_LIBRARY, FRAMEWORK_LIBRARY):
        return True
    return member.startswith("tensorflow_core/") and member.endswith(".py")


def _extract(wheel: Path, root: Path) -> None:
    if not _has_pinned_hash(wheel):
        raise SetupError(f"{wheel} does not have the pinned sha256 {WHEEL_SHA256}: remove it")
    if root.exists():
        shutil.rmtree(root)  # an older layout, or an extraction that was cut short
    partial = Path(tempfile.mkdtemp(dir=root.parent, prefix=".extract-"))
    try:
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if needed(member):
                    archive.extract(member, partial)
        (partial / MARKER).write_text(json.dumps({"sha256": WHEEL_SHA256, "layout": LAYOUT}))
        os.replace(partial, root)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _complete(extracted: Extracted) -> bool:
    try:
        marker = json.loads((extracted.root / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return marker == {"sha256": WHEEL_SHA256, "layout": LAYOUT} and \
        extracted.c_library.is_file()


def _has_pinned_hash(wheel: Path) -> bool:
    return wheel.is_file() and wheel.stat().st_size == WHEEL_SIZE and \
        sha256(wheel) == WHEEL_SHA256


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""
