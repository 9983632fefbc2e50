"""Quantities, durations and surge values, parsed the way Cortex 0.17 parses them.

Cortex reads `compute.cpu` / `compute.mem` as Kubernetes quantities, the autoscaling
periods as Go durations, and `update_strategy` values as an int or "N%". Each parser
returns an exact value (Decimal, or Fraction of a second) so that bounds such as
"at least 20Mi" or "a multiple of 10s" are compared without float rounding.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

INT32_MAX = 2**31 - 1

# Kubernetes quantity: a signed decimal number, then at most one suffix, which is a
# binary multiple (Ki..Ei), a decimal SI prefix (n..E), or a decimal exponent (e3, E-2).
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))"
    r"(?P<suffix>[eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?"
)
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_quantity(text: str) -> Decimal:
    """"200m" -> 0.2, "1G" -> 1e9, "500Mi" -> 524288000. ValueError says why not."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError("not a quantity")
    number, suffix = Decimal(match["number"]), match["suffix"] or ""
    if suffix in _BINARY:
        return number * 1024 ** _BINARY[suffix]
    if suffix in _DECIMAL:
        return number.scaleb(_DECIMAL[suffix])
    return number.scaleb(int(suffix[1:]))


# Go's time.ParseDuration: an optional sign, then one or more <number><unit> parts
# ("1m30s", "1.5h"); "0" alone is the only unit-less value.
_DURATION_PART = re.compile(r"(\d*\.?\d*)([^\d.]+)")
_UNITS = {
    "ns": Fraction(1, 10**9),
    "us": Fraction(1, 10**6),
    "µs": Fraction(1, 10**6),  # U+00B5 micro sign
    "μs": Fraction(1, 10**6),  # U+03BC Greek mu
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
}


def parse_duration(text: str) -> Fraction:
    """"60s" -> 60, "1m30s" -> 90, "500ms" -> 1/2 (seconds). ValueError says why not."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return Fraction(0)
    total, position = Fraction(0), 0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        if match is None or match[1] in ("", ".") or match[2] not in _UNITS:
            raise ValueError("not a duration")
        total += Fraction(match[1]) * _UNITS[match[2]]
        position = match.end()
    if not body:
        raise ValueError("not a duration")
    return -total if text.startswith("-") else total


def format_duration(seconds: Fraction) -> str:
    """The short Go-style spelling of a whole number of seconds: 90 -> "1m30s"."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{secs}s" if secs or not text else "")


_INT32_TEXT = re.compile(r"[+-]?\d+")


def parse_surge(text: str) -> tuple[int, bool]:
    """"25%" -> (25, True), "3" -> (3, False). ValueError unless an int32 >= 0, or 0..100%."""
    is_percent = text.endswith("%")
    digits = text[:-1] if is_percent else text
    if not _INT32_TEXT.fullmatch(digits) or abs(int(digits)) > INT32_MAX:
        raise ValueError("not an integer or a percentage")
    value = int(digits)
    if value < 0 or (is_percent and value > 100):
        raise ValueError("out of range")
    return value, is_percent


def number_text(value: int | float | str) -> str:
    """How Cortex turns a YAML number into the string it parses (cpu: 1 -> "1")."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)
