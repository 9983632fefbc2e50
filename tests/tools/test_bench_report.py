"""make bench's report from a recorded summary (bench_fixtures/summary_quick.json, a real
quick run): every section there and filled, the recommendation pasteable YAML,
--rewrite writing the same report again, and a predictor that drives TF itself."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from cortex_tools.bench import analysis, report
from cortex_tools.bench.run import main

FIXTURES = Path(__file__).resolve().parent / "bench_fixtures"
USER_BATCHING = "## Batching: your API"  # absent when your API cannot batch
SECTIONS = ("## What to set", "## Targets", "## Key figures", "## Sweep",
            USER_BATCHING, "## Batching: a generated dense model",
            "## In-process: the model without HTTP", "## Soak and overload",
            "## How it was measured")


def recorded() -> dict:
    summary = json.loads((FIXTURES / "summary_quick.json").read_text())
    analysis.analyze(summary)
    return summary


def sections(text: str) -> dict[str, str]:
    """Heading line -> its body, for every `## ` heading."""
    parts = re.split(r"^(## .*)$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def assert_report(text: str) -> None:
    """Every section present (your API's batching only when its targets apply), each with
    numbers and no hole in it; the recommendation is one line of YAML with the keys a
    user sets."""
    found = sections(text)
    batching_applies = "| does not apply |" not in found.get("## Targets", "")
    for heading in SECTIONS:
        body = next((b for h, b in found.items() if h.startswith(heading)), None)
        if heading == USER_BATCHING and not batching_applies:
            assert body is None, f"{heading} for an API whose batching targets do not apply"
            continue
        assert body is not None, f"missing {heading}"
        assert re.search(r"\d", body), f"{heading} has no number"
        for hole in ("nan", "None", "inf", "null"):
            assert not re.search(rf"\b{hole}\b", body), f"{heading} has {hole!r}"
        assert not re.search(r"mean batch 0\.0\b", body), f"{heading} has a mean batch of 0"
    line = re.search(r"```yaml\n(.*)\n```", found["## What to set"]).group(1)
    keys = yaml.safe_load(line)
    assert set(keys["autoscaling"]) == {"threads_per_worker", "workers_per_replica"}
    for target in re.findall(r"^\| (your API|the dense model).*$", found["## Targets"],
                             flags=re.MULTILINE):
        assert target


def test_the_report_of_a_recorded_run():
    summary = recorded()
    text = report.render(summary)
    assert_report(text)
    assert text.startswith("# make bench: API `iris-classifier` of cortex.yaml")
    screen = report.one_screen(summary)
    assert "## Key figures" in screen and "## Sweep" not in screen
    assert len(screen.splitlines()) < 40  # one screen
    assert "0.4 µs" in screen and "2 orders of magnitude" in screen
    targets = sections(text)["## Targets"]
    verdicts = [row.rsplit("|", 2)[-2].strip() for row in targets.strip().splitlines()[2:]]
    assert verdicts == [{True: "PASS", False: "**MISS**"}[t["holds"]]
                        for t in summary["targets"]]
    assert "PASS" in verdicts and "**MISS**" in verdicts


def test_rewrite_writes_the_report_again_from_summary_json(tmp_path, capsys):
    (tmp_path / "summary.json").write_text((FIXTURES / "summary_quick.json").read_text())
    assert main(["--rewrite", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "report.md").read_text() == report.render(recorded())
    assert capsys.readouterr().out.rstrip().endswith(f"report: {tmp_path / 'report.md'}")


def test_the_recommendation_states_how_much_faster_the_runtime_serves():
    summary = recorded()
    floors, best = summary["floors"], next(r for r in summary["sweep"]
                                          if r["key"] == summary["pick"]["key"])
    screen = sections(report.render(summary))["## What to set"]
    assert (f"the runtime answers {floors['runtime']['rps']:.0f} req/s and a Cortex "
            f"0.17.1-like serve.py on the image stack {floors['cortex']['rps']:.0f} req/s") \
        in screen
    assert f"**the runtime serves {floors['factor']:g}x as fast as a replica would**" in screen
    # serve.py's extra time per request added to this setting's own
    extra = 1 / floors["cortex"]["rps"] - 1 / floors["runtime"]["rps"]
    assert f"about {1 / (1 / best['rps'] + extra):.0f} req/s on a replica" in screen
    assert f"adds about {extra * 1e6:.0f} µs to each request" in screen
    assert report.replica_estimate(1000, 4000, 1000) == pytest.approx(1 / (1 / 1000 + 3 / 4000))


def test_an_older_summary_renders_again(tmp_path):
    """--rewrite of a summary from before the image stack, the template's own cost and
    the no-op floors: every section, the missing figures said to be missing."""
    (tmp_path / "summary.json").write_text(
        (FIXTURES / "summary_before_floors.json").read_text())
    assert main(["--rewrite", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "report.md").read_text()
    assert_report(text)
    assert "how much faster than Cortex's serve.py was not measured (this summary is from " \
           "before the bench measured them)" in text
    assert "## No-op floors" not in text
    targets = sections(text)["## Targets"]
    assert "| predict() minus the bare sess.run of its example, median, 1 thread (local " \
           "stack: the image stack was not measured): <= 50 µs | not measured | not " \
           "measured |" in targets
    assert "bound " in targets and " µs CPU" not in targets  # from the wall times it has


def test_a_predictor_that_drives_tensorflow_itself():
    summary = copy.deepcopy(recorded())
    for key in ("strategies", "strategy_cost"):
        summary["inprocess"].pop(key)
    summary["batching"]["user"] = None
    summary["api"].update(strategy=None, batch=None)
    for row in summary["sweep"]:
        row["setting"]["strategy"] = None
        row["key"] = f"own strategy t={row['setting']['threads']} w=1 {row['key'][-3:]}"
    analysis.analyze(summary)
    text = report.render(summary)
    assert_report(text)
    assert "drives its model itself" in text
    assert "## Batching: your API" not in text
    batching = summary["targets"][3:]  # after the 3 of the template's own cost
    assert [t["holds"] for t in batching][::2] == [None, None]
    assert sections(text)["## Targets"].count(
        "| the predictor holds no tf_session.Model (it drives TensorFlow itself), so "
        "tf_session's server_side_batching never sees its requests | does not apply |") == 3
    assert "session_strategy" not in summary["recommendation"]["line"]


@pytest.mark.parametrize("use, words", [
    ("run_with_defaults", "predict drives the session itself through "
                          "model.run_with_defaults, not Model.predict"),
    ("run", "predict calls model.run itself, not Model.predict"),
    (None, "predict runs the model's session itself (none of tf_session's Model methods), "
           "not Model.predict")])
def test_a_predictor_that_drives_the_session_of_its_model_itself(use, words):
    # It holds a tf_session.Model, so strategies are measured, but its predict never
    # reaches Model.predict: batching is not tried on it (bench.run.measure), and its
    # targets do not apply, in words that name what its predict does.
    summary = copy.deepcopy(recorded())
    summary["inprocess"]["model_use"] = use
    summary["batching"]["user"] = None
    summary["api"]["batch"] = None
    entry = summary["api"]["entry"]
    entry["predictor"]["config"]["server_side_batching"] = {"max_batch_size": 4}
    analysis.analyze(summary)
    text = report.render(summary)
    assert_report(text)
    assert "## Batching: your API" not in text
    targets = sections(text)["## Targets"]
    assert targets.count(f"| {words}, so no request joins a batch | does not apply |") == 3
    assert "not measured" not in targets and "**MISS**" in targets  # the dense model's
    assert f"- Batching does not apply to your API: {words}" in text
    assert (f"- server_side_batching is set but batches nothing ({words}, so no request "
            "joins a batch): remove it") in text
    assert "server_side_batching" not in summary["recommendation"]["entry"]
    if use == "run_with_defaults":
        assert "model.run itself" not in text


def test_a_project_without_sample_json_is_refused(tmp_path, capsys, monkeypatch):
    (tmp_path / "predictor.py").write_text(
        "class PythonPredictor:\n    def __init__(self, config):\n        pass\n\n"
        "    def predict(self, payload):\n        return {}\n")
    (tmp_path / "cortex.yaml").write_text(
        "- name: plain\n  predictor:\n    type: python\n    path: predictor.py\n")
    monkeypatch.chdir(tmp_path)
    assert main(["--out", str(tmp_path / "out")]) == 2
    assert "sample.json is missing" in capsys.readouterr().err
