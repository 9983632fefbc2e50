"""`make bench`'s in-process figures on the image stack, beside the local ones: predict's
rate, each strategy's cost per call, and one sess.run of the sample's example against a
batch of them, measured by bench.timing's code in a .venv-image process
(py36/figures.py). Without the image stack: {"missing": why}.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from cortex_tools.image_stack import stack
from cortex_tools.image_stack.specs import spec_json
from cortex_tools.runtime.config import ApiSpec

TIMEOUT_S = 600


def measure(spec: ApiSpec, sample: Any, *, threads: tuple[int, ...], seconds: float,
            repeats: int, batch_size: int) -> dict[str, Any]:
    if not stack.is_ready():
        return {"missing": stack.missing_line()}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="image-figures-") as tmp:
        job, out = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job.write_text(json.dumps({"spec": spec_json(spec), "sample": sample,
                                   "threads": list(threads), "seconds": seconds,
                                   "repeats": repeats, "batch_size": batch_size}))
        done = stack.run_py36("figures.py", str(job), str(out), timeout=TIMEOUT_S)
        if done is None:
            return {"error": f"the image stack gave no figures within {TIMEOUT_S} s"}
        if done.returncode != 0 or not out.is_file():
            return {"error": f"the image stack's process failed: "
                             f"{stack.last_error_line(done)}"}
        found = json.loads(out.read_text())
    found["seconds"] = round(time.monotonic() - started, 1)  # what it added to the bench
    return found
