"""The machine and software a run was made on: without them no figure can be compared."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from typing import Any


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def wrk_version() -> str | None:
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    # `wrk --version` prints its banner and exits 1.
    out = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout
    # "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer": up to the copyright
    return out.splitlines()[0].split(" Copyright")[0].strip() if out else "unknown"


def describe() -> dict[str, Any]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "tensorflow": _version("tensorflow-cpu") or _version("tensorflow"),
        "numpy": _version("numpy"),
        "uvicorn": _version("uvicorn"),
        "starlette": _version("starlette"),
        # uvicorn picks httptools and uvloop when installed, h11 and asyncio otherwise:
        # the floors depend on which.
        "http_impl": "httptools" if _version("httptools") else "h11",
        "event_loop": "uvloop" if _version("uvloop") else "asyncio",
        "wrk": wrk_version(),
        "load_average_start": load_average(),
    }
