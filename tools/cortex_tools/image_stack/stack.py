""".venv-image: the Cortex image's own stack (Python 3.6 and requirements-image.txt), here.

Made from a Python 3.6 interpreter: $PYTHON36 (or --python), else `python3.6` on PATH,
else pyenv's newest 3.6 (under $PYENV_ROOT or ~/.pyenv). A fresh 3.6 venv has pip 18,
which finds nothing on today's index, so pip is first raised to the last release for 3.6
(`pip<22`); then requirements-image.txt installs with --no-deps (it locks every package),
so the venv holds exactly what the image has. The test tools go to .venv-image/test-tools,
outside the venv's site-packages. A stamp file names what the venv was made from: a
change to either list or to the interpreter makes it anew.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

TEMPLATE_ROOT = Path(__file__).resolve().parents[3]  # tools/cortex_tools/image_stack/..
PINS = TEMPLATE_ROOT / "requirements-image.txt"
TEST_TOOLS = Path(__file__).with_name("test-tools.txt")
PY36_DIR = Path(__file__).with_name("py36")  # the modules that run on the image stack
VENV = TEMPLATE_ROOT / ".venv-image"
TEST_TOOLS_DIR = VENV / "test-tools"
PIP = "pip<22"  # the last pip for Python 3.6
GET_ONE = "pyenv install 3.6.15, or point make at one: make setup PYTHON36=/path/to/python3.6"
NAME = "image stack"


class SetupError(RuntimeError):
    """The image stack cannot be made: one line that says why and what to do."""


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: str  # "3.6.15"


# What pip downloads for the venv (requirements-image.txt and test-tools.txt, as PyPI serves
# them for Python 3.6 on Linux), less what its cache holds: said before it starts.
DOWNLOAD = "up to about 185 MB (tensorflow-cpu 2.1.0 is 100 MB of it)"


def python(venv: Path | None = None) -> Path:
    return (venv or VENV) / "bin" / "python"


def find_python36(explicit: str | None = None) -> Interpreter | None:
    """The Python 3.6 to make the venv from; None if there is none. An explicit one
    (--python or $PYTHON36) that is not a working Python 3.6 is an error, not a search."""
    explicit = explicit or os.environ.get("PYTHON36")
    if explicit:
        found = _version_of(explicit)
        if found is None or not found.startswith("3.6."):
            what = "not a working Python" if found is None else f"Python {found}"
            raise SetupError(f"PYTHON36={explicit} is {what}, not 3.6: point it at a Python "
                             f"3.6 interpreter, or get one: {GET_ONE}")
        return Interpreter(explicit, found)
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates = [shutil.which("python3.6")] + sorted(
        glob.glob(str(pyenv_root / "versions" / "3.6.*" / "bin" / "python3.6")),
        key=_version_key, reverse=True)
    for candidate in filter(None, candidates):
        found = _version_of(candidate)  # a pyenv shim of a version not selected fails here
        if found and found.startswith("3.6."):
            return Interpreter(candidate, found)
    return None


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parents[1].name
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def _version_of(executable: str) -> str | None:
    try:
        done = subprocess.run([executable, "-c", "import sys; print('%d.%d.%d' % "
                               "sys.version_info[:3])"], capture_output=True, text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def stamp(interpreter_version: str) -> Path:
    digest = hashlib.sha256(PINS.read_bytes() + TEST_TOOLS.read_bytes() +
                            interpreter_version.encode()).hexdigest()[:16]
    return VENV / f".ready-{digest}"


def ready_version(venv: Path | None = None) -> str | None:
    """The venv's Python version if it is made and matches the lists, else None."""
    if not python(venv).is_file():
        return None
    version = _version_of(str(python(venv)))
    return version if version and stamp(version).is_file() else None


def run_py36(script: str, *args: str, timeout: float) -> subprocess.CompletedProcess | None:
    """py36/`script` run with `args` by .venv-image's Python, TensorFlow's C++ logs quiet,
    its output captured; None when it does not end within `timeout` seconds."""
    try:
        return subprocess.run([str(python()), str(PY36_DIR / script), *args],
                              capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    except subprocess.TimeoutExpired:
        return None


def last_error_line(done: subprocess.CompletedProcess) -> str:
    """The last line a process wrote to stderr that is not blank ('' when there is none)."""
    return next((line for line in reversed(done.stderr.splitlines()) if line.strip()), "")


def is_ready() -> bool:
    return ready_version() is not None


def missing_line() -> str:
    return (f"{NAME}: not set up: no Python 3.6 here (PYTHON36, python3.6 on PATH, pyenv's "
            f"versions); get one with {GET_ONE}")


def setup(explicit: str | None = None, say=print) -> bool:
    """Make .venv-image if it is not ready. False (after one line saying so) when there is
    no Python 3.6; SetupError when there is one and the venv cannot be made."""
    interpreter = find_python36(explicit)
    if interpreter is None:
        say(missing_line())
        return False
    if stamp(interpreter.version).is_file() and ready_version() == interpreter.version:
        return True
    say(f"{NAME}: making {VENV.name} from Python {interpreter.version} ({interpreter.path}) "
        f"with {PINS.name}: pip downloads {DOWNLOAD} into {VENV}, less what its cache "
        "holds; about a minute")
    if VENV.exists():
        shutil.rmtree(VENV)
    steps = [
        [interpreter.path, "-m", "venv", str(VENV)],
        [str(python()), "-m", "pip", "install", "--quiet", "--upgrade", PIP],
        [str(python()), "-m", "pip", "install", "--quiet", "--no-deps", "-r", str(PINS)],
        [str(python()), "-m", "pip", "check"],
        [str(python()), "-m", "pip", "install", "--quiet", "--no-deps", "--target",
         str(TEST_TOOLS_DIR), "-r", str(TEST_TOOLS)],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            output = [line for line in (done.stderr + done.stdout).splitlines()
                      if line.strip() and "is ignored" not in line]
            raise SetupError(f"{' '.join(step[2:] if len(step) > 2 else step)} failed: "
                             f"{output[-1] if output else 'exit ' + str(done.returncode)}")
    stamp(interpreter.version).touch()
    return True


def versions(python: str) -> str:
    """tensorflow's and numpy's versions in that Python, read from their metadata."""
    done = subprocess.run([python, "-c", VERSIONS], capture_output=True, text=True)
    return done.stdout.strip() or "versions unknown"


VERSIONS = """
try:
    from importlib import metadata
except ImportError:  # Python 3.6: the backport, which the image has
    import importlib_metadata as metadata
print(", ".join("%s %s" % (d, metadata.version(d)) for d in ("tensorflow-cpu", "numpy")))
"""
