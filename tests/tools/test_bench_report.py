"""make bench's report from a recorded summary (bench_fixtures/summary_quick.json, a real
quick run): every section there and filled, the recommendation pasteable YAML,
--rewrite writing the same report again, and a predictor that drives TF itself."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import yaml

from cortex_tools.bench import analysis, report
from cortex_tools.bench.run import main

FIXTURES = Path(__file__).resolve().parent / "bench_fixtures"
SECTIONS = ("## What to set", "## Targets", "## Key figures", "## Sweep",
            "## Batching: your API", "## Batching: a generated dense model",
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
    """Every section present, each with numbers and no hole in it; the recommendation is
    one line of YAML with the keys a user sets."""
    found = sections(text)
    for heading in SECTIONS:
        body = next((b for h, b in found.items() if h.startswith(heading)), None)
        assert body is not None, f"missing {heading}"
        assert re.search(r"\d", body), f"{heading} has no number"
        for hole in ("nan", "None", "inf", "null"):
            assert not re.search(rf"\b{hole}\b", body), f"{heading} has {hole!r}"
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


def test_rewrite_writes_the_report_again_from_summary_json(tmp_path, capsys):
    (tmp_path / "summary.json").write_text((FIXTURES / "summary_quick.json").read_text())
    assert main(["--rewrite", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "report.md").read_text() == report.render(recorded())
    assert capsys.readouterr().out.rstrip().endswith(f"report: {tmp_path / 'report.md'}")


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
    assert "drives its model itself" in text
    assert "## Batching: your API" not in text
    assert [t["holds"] for t in summary["targets"]][::2] == [None, None]
    assert "session_strategy" not in summary["recommendation"]["line"]


def test_a_predictor_that_calls_model_run_itself():
    # It holds a tf_session.Model, so strategies and batching are measured, but its
    # predict never reaches Model.predict: there is no batch cost to report.
    summary = copy.deepcopy(recorded())
    summary["batching"]["user"]["inprocess"]["batch_cost"] = None
    analysis.analyze(summary)
    text = report.render(summary)
    assert_report(text)
    assert "predict calls model.run itself, not Model.predict: nothing batches." in text


def test_a_project_without_sample_json_is_refused(tmp_path, capsys, monkeypatch):
    (tmp_path / "predictor.py").write_text(
        "class PythonPredictor:\n    def __init__(self, config):\n        pass\n\n"
        "    def predict(self, payload):\n        return {}\n")
    (tmp_path / "cortex.yaml").write_text(
        "- name: plain\n  predictor:\n    type: python\n    path: predictor.py\n")
    monkeypatch.chdir(tmp_path)
    assert main(["--out", str(tmp_path / "out")]) == 2
    assert "sample.json is missing" in capsys.readouterr().err
