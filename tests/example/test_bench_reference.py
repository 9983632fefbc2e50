"""example/bench-reference: the committed report is what its summary renders, so a change
to the report's code cannot leave the reference behind (render it again with
`python -m cortex_tools.bench --rewrite --out example/bench-reference`)."""

from __future__ import annotations

import json
from pathlib import Path

from cortex_tools.bench import analysis, report

REFERENCE = Path(__file__).resolve().parents[2] / "example" / "bench-reference"


def test_the_committed_reference_report_is_what_its_summary_renders():
    summary = json.loads((REFERENCE / "summary.json").read_text())
    analysis.analyze(summary)
    assert report.render(summary) == (REFERENCE / "report.md").read_text()
