"""The Amdahl bound of batching (bench.amdahl): c / (c - m + cost(B) / B), and the
bench's target, 0.8 of it. Known values pin the formula: a changed term changes them."""

from __future__ import annotations

import pytest

from cortex_tools.bench import amdahl


@pytest.mark.parametrize(("c", "m", "batch_us", "size", "expected"), [
    (1000, 400, 800, 8, 1000 / 700),  # 600 µs unshared + 100 µs of the batch each
    (500, 500, 1000, 8, 4.0),  # all of c is the model's: B / (cost(B) / m)
    (1000, 100, 800, 8, 1.0),  # a batch costs B runs of one: nothing to share
    (900, 300, 300, 1, 1.0),  # a batch of one is one run
    (2000, 1500, 3000, 8, 2000 / 875),
])
def test_the_bound_is_c_over_what_a_request_costs_batched(c, m, batch_us, size, expected):
    assert amdahl.bound(c, m, batch_us, size) == pytest.approx(expected)
    assert amdahl.target(c, m, batch_us, size) == pytest.approx(0.8 * expected)


def test_the_target_is_four_fifths_of_the_bound():
    assert amdahl.TARGET_SHARE == 0.8


@pytest.mark.parametrize(("c", "m", "batch_us", "size"), [
    (100, 300, 80, 8),  # m measured above c: the per-request rest would be negative
    (100, 110, 80, 8),
    (0, 0, 80, 8),  # no CPU measured
    (100, 50, 80, 0),  # no batch
])
def test_no_bound_from_figures_that_cannot_make_one(c, m, batch_us, size):
    assert amdahl.bound(c, m, batch_us, size) is None
    assert amdahl.target(c, m, batch_us, size) is None
