"""The project's requirements.txt must not install TensorFlow.

At every container start Cortex runs `pip install -r requirements.txt` in the project
(serve/run.sh). The image already has tensorflow 2.1.0, on the GPU image the build that
matches its CUDA 10.1 and cuDNN 7 (images/python-predictor-{cpu,gpu}/Dockerfile). A
TensorFlow line makes pip install another TensorFlow over it on each start: slow starts,
and on the GPU image a build that does not match the image's CUDA. The one exception is
`tensorflow==2.1.0` itself, which pip finds installed and skips: pointless, so a warning.

Lines that are options (-r, -e, --index-url ...) or bare URLs are not read.
"""

from __future__ import annotations

import re
from pathlib import Path

from .messages import show
from .problems import ERROR, WARNING, Problem

FILE_NAME = "requirements.txt"
IMAGE_TENSORFLOW = "2.1.0"  # the Cortex 0.17 image's (../shared/cortex-0.17.md section 1)
TENSORFLOW_PACKAGES = frozenset({"tensorflow", "tensorflow-gpu", "tensorflow-cpu", "tf-nightly",
                                 "tf-nightly-gpu", "tf-nightly-cpu"})

_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_COMMENT = re.compile(r"(^|\s)#.*$")  # pip's rule: '#' at the start or after a space


def check(project_dir: Path, shown_dir: Path) -> list[Problem]:
    """Problems of project_dir/requirements.txt, named shown_dir/requirements.txt."""
    path = project_dir / FILE_NAME
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []  # none (or unreadable: pip would say so; nothing of TensorFlow here)
    shown = str(shown_dir / FILE_NAME)
    problems = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = _COMMENT.sub("", raw).strip()
        name = _package(line)
        if name not in TENSORFLOW_PACKAGES:
            continue
        if name == "tensorflow" and re.fullmatch(
            rf"[A-Za-z0-9._-]+\s*===?\s*{re.escape(IMAGE_TENSORFLOW)}", line
        ):
            problems.append(Problem(WARNING, number, None, "", f"{show(line)} is the image's own "
                                    f"tensorflow {IMAGE_TENSORFLOW}, which pip finds installed: "
                                    "the line does nothing (remove it)", shown))
            continue
        problems.append(Problem(
            ERROR, number, None, "",
            f"{show(line)} makes pip install TensorFlow over the image's tensorflow "
            f"{IMAGE_TENSORFLOW} at every container start: slow starts, and on the GPU image a "
            "build that does not match its CUDA 10.1 (remove it: the image has TensorFlow)",
            shown))
    return problems


def _package(line: str) -> str | None:
    """The normalized project name a requirement line names (PEP 503), or None."""
    if not line or line.startswith("-") or "://" in line.split("@", maxsplit=1)[0]:
        return None
    found = _NAME.match(line)
    return re.sub(r"[-_.]+", "-", found[0]).lower() if found else None
