"""bench.analysis: the composed ideal, the model rate it uses, and the targets' verdicts,
on a recorded summary (tests/bench_fixtures/summary_quick.json, a real quick run)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from cortex_tools.bench import analysis

FIXTURES = Path(__file__).resolve().parent / "bench_fixtures"


@pytest.fixture
def summary() -> dict:
    """The recorded run, with what analysis adds taken out again."""
    data = json.loads((FIXTURES / "summary_quick.json").read_text())
    for key in ("best", "composed_fraction_best", "composed_fraction_max", "targets", "plots"):
        data.pop(key, None)
    for row in data["served"]:
        for key in ("composed_ideal_rps", "composed_fraction", "composed_fraction_all_runs",
                    "composed_fraction_spread_runs", "rps_compared", "model_threads_used"):
            row.pop(key, None)
    return data


def test_composed_ideal_adds_the_costs_per_request():
    # 1 ms in the model + 0.25 ms in HTTP per request: 800 requests/s.
    assert analysis.composed_ideal(1000.0, 4000.0) == pytest.approx(800.0)
    assert analysis.composed_ideal(2000.0, 2000.0) == pytest.approx(1000.0)


def test_model_rate_at_falls_back_to_the_largest_count_measured_below():
    rates = {"1": 100.0, "2": 180.0, "4": 200.0}
    assert analysis.model_rate_at(rates, 2) == (2, 180.0)
    assert analysis.model_rate_at(rates, 8) == (4, 200.0)
    assert analysis.model_rate_at({"2": 5.0}, 1) == (2, 5.0)  # nothing below: the smallest


def test_compose_fills_every_served_row_from_the_rows_own_configuration(summary):
    analysis.compose(summary)
    floors = {(r["threads"], r["workers"]): r for r in summary["http_floor"]}
    for row in summary["served"]:
        model = summary["model_rate_by_workers"][str(row["workers"])]["model_rate"]
        floor = floors[(row["threads"], row["workers"])]
        # With several workers, the floor's runs whose load was spread, when there are any.
        http = floor.get("rps_spread_runs", floor["rps"])
        ideal = analysis.composed_ideal(model[str(row["threads"])], http)
        # The served rate by the same rule: a run on one worker is not a 2-worker run.
        served = row.get("rps_spread_runs", row["rps"])
        assert row["composed_ideal_rps"] == pytest.approx(ideal, abs=0.1)
        assert row["composed_fraction"] == pytest.approx(served / ideal, abs=1e-4)
        assert row["composed_fraction_all_runs"] == pytest.approx(row["rps"] / ideal, abs=1e-4)
    best = max(summary["served"], key=lambda r: r.get("rps_spread_runs", r["rps"]))
    assert summary["composed_fraction_best"] == best["composed_fraction"]
    assert summary["best"]["rps_compared"] == best.get("rps_spread_runs", best["rps"])


def test_a_two_worker_row_is_compared_over_its_spread_runs_and_can_be_the_best(summary):
    rows = summary["served"]
    two = next(r for r in rows if r["workers"] == 2)
    one_best = max(r["rps"] for r in rows if r["workers"] == 1)
    above_all = max(analysis.served_rate(r) for r in rows) + 1000
    # All runs' median below the best 1-worker row, its spread runs above every row.
    two["rps"], two["rps_spread_runs"] = one_best - 1, above_all
    analysis.compose(summary)
    assert summary["best"]["rps_compared"] == above_all
    assert (summary["best"]["workers"], summary["best"]["threads"]) == (2, two["threads"])
    assert two["composed_fraction"] > two["composed_fraction_all_runs"]


def test_the_floor_rate_of_several_workers_is_that_of_their_spread_runs():
    assert analysis.http_rate({"rps": 4000.0, "rps_spread_runs": 7000.0}) == 7000.0
    assert analysis.http_rate({"rps": 4000.0}) == 4000.0  # none spread, or one worker


def verdicts(summary: dict) -> dict[str, dict]:
    analysis.compose(summary)
    names = ("once", "served", "floor")
    return dict(zip(names, analysis.targets(summary), strict=True))


def test_targets_of_the_recorded_run(summary):
    found = verdicts(summary)
    assert found["once"]["holds"] is True  # 90 ns, 121x less than per_request
    assert found["floor"]["holds"] is True  # 28%
    for target in found.values():
        assert target["why"] and target["measured"]
        assert (target["fix"] is None) == target["holds"]


def test_once_per_thread_target_fails_above_100_ns_with_a_reason(summary):
    slow = copy.deepcopy(summary)
    slow["overhead_ns"]["once_per_thread"] = 150.0
    target = verdicts(slow)["once"]
    assert target["holds"] is False
    assert "150 ns" in target["why"] and target["fix"]


def test_once_per_thread_target_fails_below_50x_less_than_per_request(summary):
    close = copy.deepcopy(summary)
    close["overhead_ns"]["per_request"] = 40 * close["overhead_ns"]["once_per_thread"]
    assert verdicts(close)["once"]["holds"] is False


def test_one_error_in_one_row_fails_the_served_target(summary):
    broken = copy.deepcopy(summary)
    broken["served"][-1]["errors"] = 1
    target = verdicts(broken)["served"]
    assert target["holds"] is False
    assert "1 error(s) in 1 of" in target["why"]


def test_served_target_fails_below_80_percent_of_the_ideal(summary):
    slow = copy.deepcopy(summary)
    for row in slow["served"]:
        row["rps"] = row["rps"] / 3
        if "rps_spread_runs" in row:
            row["rps_spread_runs"] = row["rps_spread_runs"] / 3
    target = verdicts(slow)["served"]
    assert target["holds"] is False
    assert "µs of CPU per request" in target["fix"]


def test_floor_target_compares_the_paired_ratio_with_25_percent(summary):
    low = copy.deepcopy(summary)
    low["floor_ratio"] = 0.2
    assert verdicts(low)["floor"]["holds"] is False
    low["floor_ratio"] = 0.25
    assert verdicts(low)["floor"]["holds"] is True
