"""`make bench QUICK=1` end to end: the quick mode into a temporary folder, every section
of its report filled with numbers, summary.json complete, the plots written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from cortex_tools.bench.paths import ROOT
from tests.tools.test_bench_report import (
    PNG_MAGIC,
    SECTIONS,
    assert_filled,
    assert_numbers,
    sections,
)

QUICK_LIMIT_S = 120  # the issue: under 2 minutes on this 2-core machine


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_quick_mode_writes_a_complete_report(tmp_path):
    out = tmp_path / "results"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "cortex_tools.bench", "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=2 * QUICK_LIMIT_S,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    text = (out / "report.md").read_text()
    found = sections(text)
    for heading in SECTIONS:
        assert heading in found, f"missing {heading}"
        assert_filled(found[heading], heading)
    assert "--quick" in text.split("\n", 4)[2]  # the command that made it

    summary = json.loads((out / "summary.json").read_text())
    assert_numbers(summary)
    assert summary["plan"] == "quick"
    assert {(r["strategy"], r["threads"], r["workers"]) for r in summary["served"]} == {
        (s, t, w) for s in ("per_request", "once_per_thread") for t in (1, 2) for w in (1, 2)}
    assert all(r["errors"] == 0 for r in summary["served"]), summary["served"]
    for name in summary["plots"].values():
        assert (out / name).read_bytes().startswith(PNG_MAGIC)

    # The one-screen summary ends the output, and the run kept to its time.
    assert done.stdout.rstrip().splitlines()[-1] == f"report: {out / 'report.md'}"
    assert elapsed < QUICK_LIMIT_S, f"quick mode took {elapsed:.0f} s"
