"""`make test`: pytest on the local stack, then on the image stack, then one summary.

The local stack runs every test. The image stack (.venv-image, when it is set up) runs
the tests of the uploaded code, tests/machinery and tests/template (less the files that
need the local tools, which tests/template/conftest.py names), and tests/image, the image
stack's own; tests/conftest.py decides that, so a new test file in those folders runs on
both stacks without being listed anywhere. Arguments are pytest's, for both runs (e.g.
-k once_per_thread); a selection that matches nothing on one stack is not a failure.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from cortex_tools.image_stack import stack

NO_TESTS = 5  # pytest's exit status when nothing was collected


@dataclass
class Run:
    label: str
    status: int
    seconds: float
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def line(self) -> str:
        counts = [f"{self.passed} passed"] + [f"{n} {what}" for n, what in (
            (self.failed, "failed"), (self.skipped, "skipped")) if n]
        return f"{self.label}: {', '.join(counts)} in {self.seconds:.0f} s"


def main(args: list[str]) -> int:
    image = stack.is_ready()
    with tempfile.TemporaryDirectory(prefix="make-test-") as tmp:
        local = _run(f"local stack (Python {platform.python_version()}, "
                     f"{stack.versions(sys.executable)})", [sys.executable, "-m", "pytest"],
                     args, Path(tmp) / "local.xml")
        if image:
            runner = stack.PY36_DIR / "run_pytest.py"
            ran = _run(f"image stack (Python {stack.ready_version()}, "
                       f"{stack.versions(str(stack.python()))})",
                       [str(stack.python()), str(runner)], args, Path(tmp) / "image.xml")
    print()
    runs = [local] + ([ran] if image else [])
    for run in runs:
        print(run.line() if run.status != NO_TESTS else f"{run.label}: no test matches")
    if not image:
        print(stack.missing_line() + ": the uploaded code's tests ran on the local stack only")
    if all(run.status == NO_TESTS for run in runs):
        print(f"no test matches: {' '.join(args)}")
        return 0 if args else NO_TESTS
    failed = sum(run.failed for run in runs)
    print(f"total: {sum(run.passed for run in runs)} passed, {failed} failed")
    return 0 if all(run.status in (0, NO_TESTS) for run in runs) else 1


def _run(label: str, command: list[str], args: list[str], junit: Path) -> Run:
    print(f"\n=== {label}", flush=True)
    started = time.monotonic()
    env = {**os.environ, "TEMPLATE_TOOLS_PYTHON": sys.executable}
    status = subprocess.run([*command, *args, f"--junitxml={junit}"], env=env).returncode
    run = Run(label, status, time.monotonic() - started)
    if junit.is_file():
        suite = ET.parse(junit).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        total, errors, failures, skipped = (int(suite.get(k, 0)) for k in (
            "tests", "errors", "failures", "skipped"))
        run.passed, run.failed, run.skipped = total - errors - failures - skipped, \
            errors + failures, skipped
    elif status not in (0, NO_TESTS):
        run.failed = 1  # pytest stopped before it wrote a report (usage or collection)
    return run
