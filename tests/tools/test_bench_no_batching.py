"""`make bench QUICK=1` on a predictor that batches nothing: the sampler of
tests/tools/sampler.py, which drives the session itself through run_with_defaults.

What depends on the predictor runs for real: the in-process figures and how predict
reaches the model (bench.inprocess), what is then measured (bench.run.measure), the
analysis and the report. The served sections are model-agnostic code that
test_bench_end_to_end runs for real (on the project's API, whatever it is); here they
hand back the recorded quick run's figures (bench_fixtures/summary_quick.json), for the
settings asked, so that the test takes seconds, not the quick plan's two minutes. Only a
batching section asked for the sampler itself would be measured for real.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from cortex_tools.bench import batching, floors, heavy_model, run, soak, sweep
from tests.tools import sampler
from tests.tools.test_bench_report import FIXTURES, assert_report, sections

WHY = ("predict drives the session itself through model.run_with_defaults, not "
       "Model.predict, so no request joins a batch")


@pytest.fixture
def served_from_the_recording(monkeypatch) -> dict[str, list]:
    """The served sections, answered from the recorded run; what each was asked."""
    recorded = json.loads((FIXTURES / "summary_quick.json").read_text())
    asked: dict[str, list] = {"sweep": [], "batching": [], "soak": [], "floors": []}

    def sweep_run(copy, plan, *, connections, strategies, batching, body_file, say):
        asked["sweep"].append({"strategies": strategies, "batching": batching})
        settings = [s for group in sweep.groups(plan, strategies, batching) for s in group]
        rows = recorded["sweep"]
        return [{**rows[i % len(rows)], "key": s.key, "setting": s.as_dict(),
                 "mean_batch": None} for i, s in enumerate(settings)]

    measured = batching.section

    def batching_section(copy, strategy, plan, sample, *, body_file, say):
        asked["batching"].append(copy.name)
        if copy.name == heavy_model.API:
            return recorded["batching"]["heavy"]
        # The user's API, if the bench batches it after all: measured for real.
        return measured(copy, strategy, plan, sample, body_file=body_file, say=say)

    def soak_run(copy, best, plan, *, api_limit, body_file, say):
        asked["soak"].append(best.key)
        return ({**recorded["soak"], "setting_key": best.key},
                {**recorded["overload"], "setting_key": best.key})

    def floors_measure(plan, folder, *, connections, body_file, say, batching=None,
                       strategy=None):
        # A no-op predictor's (the same for any API), and the user's API only if it batches.
        asked["floors"].append((connections, batching))
        return recorded["floors"]

    monkeypatch.setattr(sweep, "run", sweep_run)
    monkeypatch.setattr(floors, "measure", floors_measure)
    monkeypatch.setattr(batching, "section", batching_section)
    monkeypatch.setattr(soak, "run", soak_run)
    return asked


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_the_quick_plan_on_a_sampler_that_drives_the_session_itself(
        tmp_path, monkeypatch, capsys, served_from_the_recording):
    config = sampler.write_project(tmp_path / "project")
    # As a user might leave it: batching on, for a predict that cannot batch.
    config.write_text(config.read_text().replace(
        "      session_strategy: per_request\n",
        "      session_strategy: per_request\n      server_side_batching: {max_batch_size: 2}\n"))
    monkeypatch.chdir(config.parent)
    out = tmp_path / "results"
    assert run.main(["--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out

    text = (out / "report.md").read_text()
    assert_report(text)
    assert not re.search(r"\bNone\b|mean batch 0\.0\b", text), text
    targets = sections(text)["## Targets"]
    assert targets.count(f"| {WHY} | does not apply |") == 3, targets
    assert "model.run itself" not in text
    assert f"- Batching does not apply to your API: {WHY}" in text
    assert (f"- server_side_batching is set but batches nothing ({WHY}): remove it (the "
            "whole entry below has it removed).") in text
    assert f"3/5 batching off and on: a generated dense model (not your API: {WHY})" in printed

    summary = json.loads((out / "summary.json").read_text())
    assert summary["inprocess"]["model_use"] == "run_with_defaults"
    # The template's own cost (3 targets: measured or not, they apply), then batching's,
    # the last under the Cortex-like serve.py.
    assert [t.get("applies", True) for t in summary["targets"]] == [
        True, True, True, False, True, False, False]
    asked = served_from_the_recording
    assert asked["sweep"] == [{"strategies": ("per_request", "once_per_thread"),
                               "batching": False}]
    assert asked["batching"] == ["dense-2048x3"]  # the dense model only, not the sampler
    assert asked["floors"] == [(summary["connections"], None)]
    assert summary["batching"]["user"] is None and summary["api"]["batch"] is None
    assert "server_side_batching" not in summary["recommendation"]["entry"]
