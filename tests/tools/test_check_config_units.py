"""cortex_config.units: Kubernetes quantities, Go durations and surge values, exactly."""

from decimal import Decimal
from fractions import Fraction

import pytest

from cortex_tools.config_check.units import (
    format_duration,
    parse_duration,
    parse_quantity,
    parse_surge,
)


@pytest.mark.parametrize(("text", "value"), [
    ("200m", Decimal("0.2")), ("1", Decimal(1)), ("0.5", Decimal("0.5")), (".5", Decimal("0.5")),
    ("20m", Decimal("0.02")), ("1G", Decimal(10**9)), ("1Gi", Decimal(2**30)),
    ("500Mi", Decimal(500 * 2**20)), ("20Mi", Decimal(20 * 2**20)), ("20M", Decimal(20 * 10**6)),
    ("1k", Decimal(1000)), ("1Ki", Decimal(1024)), ("1e3", Decimal(1000)),
    ("1E", Decimal(10**18)), ("100n", Decimal("1e-7")), ("+2", Decimal(2)),
])
def test_quantities(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "one", "1 G", "1g", "1Mb", "--1", "1.2.3", "m"])
def test_not_quantities(text):
    with pytest.raises(ValueError, match="not a quantity"):
        parse_quantity(text)


@pytest.mark.parametrize(("text", "seconds"), [
    ("60s", 60), ("1m", 60), ("1m30s", 90), ("1h", 3600), ("1.5h", 5400), ("0", 0),
    ("0s", 0), ("500ms", Fraction(1, 2)), ("10us", Fraction(1, 10**5)),
    ("10µs", Fraction(1, 10**5)), ("1ns", Fraction(1, 10**9)), ("-5m", -300), ("+10s", 10),
    ("2h45m", 9900),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "60", "1 m", "1min", "s", ".s", "1m1", "-", "1d", "1.5.s"])
def test_not_durations(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (60, "1m"), (90, "1m30s"),
                                               (3600, "1h"), (3670, "1h1m10s")])
def test_format_duration(seconds, text):
    assert format_duration(Fraction(seconds)) == text


@pytest.mark.parametrize(("text", "value"), [
    ("25%", (25, True)), ("0%", (0, True)), ("100%", (100, True)), ("0", (0, False)),
    ("3", (3, False)), ("2147483647", (2**31 - 1, False)),
])
def test_surge(text, value):
    assert parse_surge(text) == value


@pytest.mark.parametrize(("text", "why"), [
    ("101%", "out of range"), ("-1", "out of range"), ("-1%", "out of range"),
    ("2147483648", "not an integer"), ("ten", "not an integer"), ("1.5", "not an integer"),
    ("%", "not an integer"), ("", "not an integer"),
])
def test_not_surge(text, why):
    with pytest.raises(ValueError, match=why):
        parse_surge(text)
