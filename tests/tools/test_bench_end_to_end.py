"""`make bench QUICK=1` end to end, against the real project (whatever its model): the
quick plan into a temporary folder, every section of its report filled, the
recommendation line YAML."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from cortex_tools.bench.plan import QUICK
from cortex_tools.image_stack import stack
from tests.tools.test_bench_report import assert_report

ROOT = Path(__file__).resolve().parents[2]
QUICK_LIMIT_S = 150  # the plan aims at < 120 s; the machine is shared, so some slack
IMAGE_LIMIT_S = 60  # its in-process figures on the image stack, beside the local ones


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_the_quick_plan_answers_for_the_projects_api(tmp_path):
    out = tmp_path / "results"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "cortex_tools.bench", "--quick", "--out",
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    assert_report((out / "report.md").read_text())
    summary = json.loads((out / "summary.json").read_text())
    first_api = yaml.safe_load((ROOT / "cortex.yaml").read_text())[0]["name"]
    assert summary["plan"] == "quick" and summary["api"]["name"] == first_api
    # The report's header names the command that made it, as it runs from a shell here.
    assert summary["command"].startswith(".venv/bin/python -m cortex_tools.bench --quick")
    assert len(summary["sweep"]) >= 2
    assert all(r["errors"] == 0 and r["rps"] > 0 for r in summary["sweep"]), summary["sweep"]
    assert summary["soak"]["errors"] == 0 and summary["soak"]["requests"] > 0
    assert summary["overload"]["share_503"] > 0  # 4x the limit is refused, in part
    assert summary["overload"]["after"]["status"] == 200  # and it serves again after
    # Your API's batching is measured when its predict goes through Model.predict; one
    # that drives the session itself (run_with_defaults) batches nothing: its targets say
    # why they do not apply (assert_report: without None), and it has no batching section.
    batches = summary["batching_does_not_apply"] is None
    assert (summary["batching"]["user"] is not None) == batches
    for part in ("user", "heavy") if batches else ("heavy",):
        rows = summary["batching"][part]["served"]
        assert [r["connections"] for r in rows] == [1, 64]
        assert all(rows[-1][side]["mean_batch"] > 1 for side in ("on", "wait"))  # 64 on 8 threads
        # The model's cost (the Amdahl bound's m and cost(B)) is sampled before serving and
        # again after every served round, so that it comes from the minutes of c.
        per_round = max(1, QUICK.cost_repeats // QUICK.runs)
        repeats = QUICK.cost_repeats + len(QUICK.batch_connections) * QUICK.runs * per_round
        assert summary["batching"][part]["inprocess"]["batch_cost"]["repeats"] == repeats
        assert (f"medians of {repeats} repeats, before and between the served rounds" in
                (out / "report.md").read_text())
    assert_image_stack_figures(summary, (out / "report.md").read_text())
    assert_floors(summary, (out / "report.md").read_text())
    assert done.stdout.rstrip().splitlines()[-1] == f"report: {out / 'report.md'}"
    # The image stack's figures come on top: a process of its own, TensorFlow 2.1's import.
    image_s = summary["image_stack"].get("seconds", 0)
    assert image_s < IMAGE_LIMIT_S, f"the image stack's figures took {image_s:.0f} s"
    assert elapsed - image_s < QUICK_LIMIT_S, f"the quick plan took {elapsed - image_s:.0f} s"


def assert_floors(summary: dict, report: str) -> None:
    """The no-op floors: the runtime and the Cortex-like serve.py (image stack) both served
    the no-op without errors, and the factor between them is stated beside the
    recommendation (or, without the image stack, one line says it was not measured)."""
    floors = summary["floors"]
    screen = report.split("## Targets", 1)[0]
    if not stack.is_ready():
        assert floors == {"missing": stack.missing_line()}
        assert "how much faster than Cortex's serve.py was not measured" in screen
        return
    for side in ("runtime", "cortex"):
        assert floors[side]["errors"] == 0 and floors[side]["rps"] > 0, floors
    assert floors["factor"] == round(floors["runtime"]["rps"] / floors["cortex"]["rps"], 2)
    assert f"**the runtime serves {floors['factor']:g}x as fast as a replica would**" in screen
    assert "## No-op floors" in report
    if summary["batching_does_not_apply"] is not None:
        assert "batched" not in floors
        return
    # The user's API, batched and unbatched, through the same Cortex-like server.
    batched, unbatched = floors["batched"], floors["unbatched"]
    for row in (batched, unbatched):
        assert row["errors"] == 0 and row["rps"] > 0, floors
    assert batched["mean_batch"] > 1  # the sweep's connections on 8 threads
    assert batched["over_floor"] == round(batched["rps"] / floors["cortex"]["rps"], 2)
    assert batched["over_unbatched"] == round(batched["rps"] / unbatched["rps"], 2)
    target = summary["targets"][-1]
    assert target["name"].startswith("your API under the Cortex-like serve.py (image stack), "
                                     f"8 threads, {floors['connections']} connections")
    assert target["measured"].startswith(f"{batched['over_floor']:.2f} of the floor "
                                         f"({batched['rps']:.0f} vs "
                                         f"{floors['cortex']['rps']:.0f} req/s)")
    assert target["holds"] in (True, False) and f"| {target['measured']} |" in report


def assert_image_stack_figures(summary: dict, report: str) -> None:
    """The in-process figures measured on the image's own stack, beside the local ones and
    labelled with each stack's Python and TensorFlow (or one line saying it is missing)."""
    image = summary["image_stack"]
    if not stack.is_ready():
        assert image == {"missing": stack.missing_line()}
        assert f"- The image's own stack was not measured: {stack.missing_line()}." in report
        return
    assert image["python"].startswith("3.6.") and image["tensorflow"] == "2.1.0", image
    assert image["numpy"] == "1.18.4"
    assert set(image["rate"]) == set(summary["inprocess"]["rate"])
    assert all(r["us_per_call"] > 0 for r in image["rate"].values())
    assert image["batch_cost"]["size"] == 8 and image["batch_cost"]["us_1"] > 0
    assert set(image["strategy_cost"]["ns"]) == set(summary["inprocess"]["strategy_cost"]["ns"])
    own = image["own_cost"]
    assert 0 < own["us_run"] < own["us_predict"], own  # predict runs it, and more
    section = report.split("## In-process on both stacks", 1)[1].split("\n## ", 1)[0]
    machine = summary["machine"]
    assert (f"| figure | local stack (Python {machine['python']}, TensorFlow "
            f"{machine['tensorflow']}) | image stack (Python {image['python']}, TensorFlow "
            "2.1.0, numpy 1.18.4) |") in section
    for label in ("predict(sample.json), 1 thread: µs per call",
                  "one sess.run of the sample's example: µs", "one sess.run of 8 of them",
                  "`per_request` cost per call", "`once_per_thread` cost per call",
                  "predict() minus the bare run of its example"):
        row = next(line for line in section.splitlines() if line.startswith(f"| {label}"))
        assert "–" not in row, row  # both stacks measured it
    assert f"- On the image stack (Python {image['python']}" in report
