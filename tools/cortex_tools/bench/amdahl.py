"""What batching can give a served API at all, by Amdahl's law (issue 20, point 3).

Batching shares one part of a request's cost, the model's run; the rest (HTTP, JSON, the
template's own work) is paid per request whatever the batch. With

- c: the server's CPU per request unbatched (µs),
- m: one sess.run of one example (µs), the model's share of c,
- cost(B): one sess.run of B = max_batch_size examples (µs),

a full batch costs each request c - m + cost(B) / B instead of c, so batched/unbatched
req/s can reach at most c / (c - m + cost(B) / B). The bench's target is a share of that
bound (TARGET_SHARE), not a fixed ratio that a small model or 2 cores cannot reach.
"""

from __future__ import annotations

TARGET_SHARE = 0.8  # served batched/unbatched >= this share of the bound


def bound(c_us: float, m_us: float, batch_us: float, batch_size: int) -> float | None:
    """c / (c - m + cost(B) / B); None when the figures cannot make a bound (a per-request
    cost left at or below zero: m measured above c, which noise can do)."""
    if batch_size < 1 or c_us <= 0:
        return None
    per_request = c_us - m_us + batch_us / batch_size
    return c_us / per_request if per_request > 0 else None


def target(c_us: float, m_us: float, batch_us: float, batch_size: int) -> float | None:
    """The batched/unbatched ratio the bench asks for: TARGET_SHARE of the bound."""
    found = bound(c_us, m_us, batch_us, batch_size)
    return None if found is None else TARGET_SHARE * found
