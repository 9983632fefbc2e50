"""The one symbol that keeps TF 2.1's library from loading in a newer Python.

``_pywrap_tensorflow_internal.so`` was linked against CPython 3.6 and names the data symbol
``_Py_CheckRecursionLimit``, which Python 3.9 stopped exporting. The library's Python
bindings (the only code that reads it) never run here: the checks call its C API through
ctypes. A shared object that defines that one int, loaded first with RTLD_GLOBAL, satisfies
the dynamic linker. It is built once per cache with the system's C compiler.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cortex_tools.tf21.wheel import SetupError, tf21_dir

SYMBOL = "_Py_CheckRecursionLimit"
SOURCE = f"/* CPython <= 3.8 exported it; TF 2.1's library names it. */\nint {SYMBOL} = 1000;\n"


def needed() -> bool:
    """True when this Python does not export the symbol itself."""
    try:
        ctypes.c_int.in_dll(ctypes.pythonapi, SYMBOL)
    except ValueError:
        return True
    return False


def ensure(cache: Path | None = None, compiler: str | None = None) -> Path | None:
    """The shim's path, built if missing; None when this Python needs none."""
    if not needed():
        return None
    return build(tf21_dir(cache) / "shim", compiler)


def build(folder: Path, compiler: str | None = None) -> Path:
    target = folder / "py_check_recursion_limit.so"
    if target.is_file():
        return target
    cc = compiler or os.environ.get("CC") or "cc"
    if shutil.which(cc) is None:
        raise SetupError(f"no C compiler ({cc}) to build the one-line shim that TF 2.1's "
                         f"library needs on Python {sys.version_info[0]}."
                         f"{sys.version_info[1]} (it defines {SYMBOL}): install one "
                         "(sudo apt-get install gcc), or set CC")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".build-") as tmp:
        source = Path(tmp) / "shim.c"
        source.write_text(SOURCE)
        built = Path(tmp) / target.name
        done = subprocess.run([cc, "-shared", "-fPIC", "-o", str(built), str(source)],
                              capture_output=True, text=True)
        if done.returncode != 0 or not built.is_file():
            first = (done.stderr or done.stdout).strip().splitlines()[:1]
            reason = first[0] if first else f"exit status {done.returncode}"
            raise SetupError(f"{cc} cannot build the {SYMBOL} shim: {reason}")
        os.replace(built, target)  # atomic: a concurrent build finds a whole file or none
    return target
