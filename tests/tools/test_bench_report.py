"""bench.report and bench.plots: report.md, summary.json and the PNGs from a recorded
summary (tests/bench_fixtures/summary_quick.json, a real quick run)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from cortex_tools.bench import analysis, report

FIXTURES = Path(__file__).resolve().parent / "bench_fixtures"
SECTIONS = (
    "## Targets",
    "## 1. Strategy overhead per call",
    "## 2. The model's limit (no HTTP)",
    "## 3. HTTP floors",
    "## 4. Served: strategy x threads_per_worker x workers_per_replica",
    "## 5. Composed ideal",
    "## The seed page's claims against these figures",
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def recorded() -> dict:
    data = json.loads((FIXTURES / "summary_quick.json").read_text())
    analysis.compose(data)
    data["targets"] = analysis.targets(data)
    return data


def sections(text: str) -> dict[str, str]:
    """Heading line -> its body, for every `## ` heading."""
    parts = re.split(r"^(## .*)$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def assert_filled(text: str, where: str) -> None:
    assert re.search(r"\d", text), f"{where} has no number"
    for hole in ("nan", "None", "n/a", "inf"):
        assert not re.search(rf"\b{hole}\b", text), f"{where} has {hole!r}"


def assert_numbers(summary: dict) -> None:
    """The issue's keys are there, and every figure they hold is a finite number."""
    def number(value: object, where: str) -> None:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), where
        assert math.isfinite(value), where

    for key in ("none", "per_request", "once_per_thread", "instance_flag"):
        number(summary["overhead_ns"][key], f"overhead_ns.{key}")
    number(summary["sess_run_us"], "sess_run_us")
    assert summary["model_rate"], "model_rate is empty"
    for threads, rate in summary["model_rate"].items():
        assert int(threads) >= 1
        number(rate, f"model_rate.{threads}")
    for key in ("http_floor_rps", "bare_asgi_rps", "composed_fraction_best"):
        number(summary[key], key)
    assert summary["served"], "no served rows"
    for row in summary["served"]:
        assert row["strategy"] in ("per_request", "once_per_thread")
        for key in ("threads", "workers", "rps", "p50_ms", "p90_ms", "p99_ms", "errors"):
            number(row[key], f"served.{key}")
    number(summary["gc"]["full_gc_ms"], "gc.full_gc_ms")
    number(summary["machine"]["cores"], "machine.cores")
    assert summary["machine"]["cpu_model"]


def test_report_has_every_section_filled_with_numbers(tmp_path):
    path = report.write(recorded(), tmp_path)
    found = sections(path.read_text())
    for heading in SECTIONS:
        assert heading in found, f"missing {heading}"
        assert_filled(found[heading], heading)


def test_report_tables_have_one_line_per_row(tmp_path):
    summary = recorded()
    text = report.write(summary, tmp_path).read_text()
    served = sections(text)["## 4. Served: strategy x threads_per_worker x workers_per_replica"]
    table = [line for line in served.splitlines() if re.match(r"\| (per_request|once_per)", line)]
    assert len(table) == len(summary["served"])
    targets = sections(text)["## Targets"]
    assert targets.count("| yes |") + targets.count("| **no** |") == 3


def test_summary_json_and_plots_are_written(tmp_path):
    report.write(recorded(), tmp_path)
    written = json.loads((tmp_path / "summary.json").read_text())
    assert_numbers(written)
    for name in written["plots"].values():
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC), name
        assert f"]({name})" in (tmp_path / "report.md").read_text()
    assert not list(tmp_path.glob("*.tmp")), "a temporary file was left behind"


def test_a_summary_lacking_an_issue_key_is_refused(tmp_path):
    summary = recorded()
    del summary["overhead_ns"]["instance_flag"]
    del summary["served"][0]["p90_ms"]
    with pytest.raises(ValueError, match=r"overhead_ns\.instance_flag, served\.p90_ms"):
        report.write(summary, tmp_path)
    assert not (tmp_path / "report.md").exists()


def test_one_screen_summary_fits_a_screen():
    summary = recorded()
    summary["plots"] = {}
    text = report.one_screen(summary, Path("bench/results/report.md"))
    lines = text.splitlines()
    assert len(lines) <= 24 and max(map(len, lines)) <= 120
    assert sum(line.startswith(("[ok ]", "[MISS]")) for line in lines) == 3
    assert "bench/results/report.md" in lines[-1]


def test_session_options_are_compared_in_sections_2_and_4(tmp_path):
    summary = recorded()
    summary["session_options"] = {
        "options": {"inter_op_parallelism_threads": -1},
        "shipped": {"calls_per_s": 4614.0, "cpu_us_per_call": 217.0,
                    "after_1ms_pause_wall_us": 344.0, "after_1ms_pause_cpu_us": 348.0},
        "tf_defaults": {"calls_per_s": 2225.0, "cpu_us_per_call": 408.0,
                        "after_1ms_pause_wall_us": 376.0, "after_1ms_pause_cpu_us": 379.0}}
    summary["session_options_served"] = [
        {"threads": 1, "workers": 2, "shipped_rps": 2545.0, "tf_defaults_rps": 1880.0,
         "tf_defaults_errors": 0, "ratio": 1.354, "ratio_runs": [1.3, 1.354, 1.41]}]
    text = report.write(summary, tmp_path).read_text()
    model = sections(text)["## 2. The model's limit (no HTTP)"]
    assert "| cortex.yaml (`inter_op_parallelism_threads: -1`) | 4614 | 217 | 344 | 348 |" in model
    assert "| TensorFlow's defaults | 2225 | 408 | 376 | 379 |" in model
    served = sections(text)["## 4. Served: strategy x threads_per_worker x workers_per_replica"]
    assert "| 1 | 2 | 2545 | 1880 | 0 | 1.35 | 1.30, 1.35, 1.41 |" in served
    line = next(x for x in report.one_screen(summary, tmp_path / "report.md").splitlines()
                if x.startswith("one sess.run"))
    assert line.endswith("(TF's default pools: 2225 at 1t)")


def test_rewrite_renders_the_same_report_from_summary_json_alone(tmp_path):
    from cortex_tools.bench import run

    first = report.write(recorded(), tmp_path).read_text()
    for path in tmp_path.iterdir():
        if path.name != "summary.json":
            path.unlink()
    assert run.main(["--rewrite", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "report.md").read_text() == first
    for name in json.loads((tmp_path / "summary.json").read_text())["plots"].values():
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC)
