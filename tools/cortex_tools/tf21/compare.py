"""Do TF 2.1's outputs agree with the local TensorFlow's?

Floating outputs agree within a tolerance of their type's rounding: |a - b| <= tol *
max(1, |b|), with tol 1e-5 for float32 (about 80 units in the last place of 1.0). Two
TensorFlow builds run different CPU kernels (oneDNN or Eigen, other summation orders), so
float results differ in their last bits; a changed model or a mis-fed input differs by far
more. NaN must be NaN in both. Integers, booleans and strings must be equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TOLERANCE = {np.dtype(np.float16): 1e-3, np.dtype(np.float32): 1e-5,
             np.dtype(np.float64): 1e-12, np.dtype(np.complex64): 1e-5,
             np.dtype(np.complex128): 1e-12}


@dataclass
class Comparison:
    max_diff: float = 0.0
    problems: list[str] = field(default_factory=list)
    compared: int = 0  # outputs compared

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, other: Comparison) -> None:
        self.max_diff = max(self.max_diff, other.max_diff)
        self.problems += other.problems
        self.compared += other.compared


def compare(local: dict[str, np.ndarray], tf21: dict[str, np.ndarray],
            labels: tuple[str, str] = ("in TF 2.1", "locally")) -> Comparison:
    """`tf21` against `local`, the expected values; `labels` name the two in messages."""
    result = Comparison()
    there, here = labels
    for name, expected in local.items():
        if name not in tf21:
            result.problems.append(f"{name}: no value {there}")
            continue
        actual = tf21[name]
        result.compared += 1
        if actual.shape != expected.shape:
            result.problems.append(f"{name}: shape {actual.shape} {there}, "
                                   f"{expected.shape} {here}")
        elif actual.dtype != expected.dtype and not (actual.dtype.kind == expected.dtype.kind
                                                     == "O"):
            result.problems.append(f"{name}: dtype {actual.dtype} {there}, "
                                   f"{expected.dtype} {here}")
        elif expected.dtype in TOLERANCE:
            _compare_floats(name, expected, actual, result, labels)
        elif not np.array_equal(expected, actual):
            index = np.argwhere(np.asarray(expected != actual).reshape(expected.shape))
            where = tuple(int(i) for i in index[0]) if len(index) else ()
            result.problems.append(f"{name}: differs at {where}: {_item(actual, where)} "
                                   f"{there}, {_item(expected, where)} {here}")
    return result


def _compare_floats(name: str, expected: np.ndarray, actual: np.ndarray,
                    result: Comparison, labels: tuple[str, str]) -> None:
    there, here = labels
    tolerance = TOLERANCE[expected.dtype]
    nan_expected, nan_actual = np.isnan(expected), np.isnan(actual)
    if not np.array_equal(nan_expected, nan_actual):
        result.problems.append(f"{name}: NaN {there} and not {here}, or the other way")
        return
    a = np.where(nan_actual, 0, actual).astype(np.complex128 if expected.dtype.kind == "c"
                                               else np.float64)
    b = np.where(nan_expected, 0, expected).astype(a.dtype)
    both_inf = np.isinf(a) & np.isinf(b) & (a == b)
    diff = np.where(both_inf, 0.0, np.abs(a - b))
    if diff.size == 0:
        return
    worst = float(np.nanmax(diff)) if np.isfinite(diff).all() else float("inf")
    result.max_diff = max(result.max_diff, worst)
    limit = tolerance * np.maximum(1.0, np.abs(np.where(np.isinf(b), 0, b)))
    if np.any(diff > limit):
        where = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff - limit)),
                                                       diff.shape))
        result.problems.append(
            f"{name}: differs by {worst:.3g} (tolerance {tolerance:g}), at {where}: "
            f"{_item(actual, where)} {there}, {_item(expected, where)} {here}")


def _item(array: np.ndarray, where: tuple):
    value = array[where] if where else array
    return value.item() if hasattr(value, "item") else value


def diff_text(value: float) -> str:
    """3e-08 -> 3e-8; 0 -> 0."""
    if value == 0:
        return "0"
    mantissa, _, exponent = f"{value:.0e}".partition("e")
    return f"{mantissa}e{int(exponent)}"
