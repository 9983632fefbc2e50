"""bench.wrk_output on recorded wrk outputs (tests/bench_fixtures/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cortex_tools.bench.wrk_output import WrkOutputError, parse

FIXTURES = Path(__file__).resolve().parent / "bench_fixtures"


def recorded(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_a_complete_run():
    result = parse(recorded("wrk_ok.txt"), requested=2000)
    assert result.counted == 2000
    assert result.window_s == pytest.approx(0.384587)
    assert result.rps == pytest.approx(2000 / 0.384587, rel=1e-4)
    assert (result.p50_ms, result.p90_ms, result.p99_ms, result.max_ms) == (3.025, 3.269, 6.894,
                                                                            8.057)
    assert result.mean_ms == pytest.approx(3.071, abs=1e-3)
    assert result.errors == 0
    assert result.as_dict()["errors"] == 0


def test_non_2xx_answers_are_errors():
    result = parse(recorded("wrk_status_errors.txt"), requested=300)
    assert result.counted == 300
    assert result.error_detail["status"] == 300
    assert result.errors == 300


def test_errors_in_wrk_text_count_even_if_the_result_line_says_none():
    text = recorded("wrk_ok.txt").replace(
        "Requests/sec:",
        "  Socket errors: connect 0, read 3, write 1, timeout 2\n"
        "  Non-2xx or 3xx responses: 5\nRequests/sec:")
    result = parse(text, requested=2000)
    assert result.error_detail == {"connect": 0, "read": 3, "write": 1, "status": 5,
                                   "timeout": 2, "missing": 0}
    assert result.errors == 11


def test_requests_never_answered_are_missing_errors():
    result = parse(recorded("wrk_no_answer.txt"), requested=100)
    assert result.counted == 0
    assert result.rps == 0.0
    assert result.error_detail["missing"] == 100
    assert result.errors == 100


def test_a_run_that_stopped_short_counts_the_rest_as_missing():
    result = parse(recorded("wrk_ok.txt"), requested=2500)
    assert result.error_detail["missing"] == 500


def test_no_result_line_is_an_error_that_quotes_wrk():
    with pytest.raises(WrkOutputError, match="unable to connect to 127.0.0.1:8116"):
        parse(recorded("wrk_refused.txt"), requested=100)
    with pytest.raises(WrkOutputError, match="no output"):
        parse("", requested=100)
