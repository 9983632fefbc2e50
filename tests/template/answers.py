"""Comparing answers: exactly, or numbers within float32 tolerance where a batched sess.run
may add up in another order than a single one."""

import math
from typing import Any

REL, ABS = 1e-5, 1e-6


def same_answer(a: Any, b: Any, tolerant: bool) -> bool:
    if not tolerant:
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_answer(a[k], b[k], True) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_answer(x, y, True) for x, y in zip(a, b))
    if isinstance(a, (float, int)) and isinstance(b, (float, int)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=REL, abs_tol=ABS)
    return a == b


def plain_answer(response: Any) -> Any:
    """What a client gets as JSON: a predictor's dict, or a Starlette response's body."""
    import json

    body = getattr(response, "body", None)
    return json.loads(body) if body is not None else response
