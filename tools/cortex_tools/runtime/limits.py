"""What a client may send the local runtime, and how long it may take to send it.

Cortex 0.17's serve.py sets none of these (a load balancer sits in front of a replica);
the local runtime faces its clients directly, so it bounds each request: its head (the
request line and headers), its body, and the time either takes to arrive.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024

DEFAULT_MAX_BODY_SIZE = 4 * MiB  # a few MB: far above any JSON of features, far below RAM
DEFAULT_HEADER_TIMEOUT_S = 5.0  # as long as uvicorn keeps an idle keep-alive connection
DEFAULT_BODY_TIMEOUT_S = 30.0  # 4 MiB at ~140 KB/s: slow links pass, a trickle does not
MAX_HEAD_SIZE = 64 * 1024  # request line + headers; h11's own default is 16 KiB


@dataclass(frozen=True)
class Limits:
    """One request's bounds; a request past one gets a 4xx, never a stalled server."""

    max_body_size: int = DEFAULT_MAX_BODY_SIZE  # bytes, else 413
    header_timeout: float = DEFAULT_HEADER_TIMEOUT_S  # s for a complete head, else 408/close
    body_timeout: float = DEFAULT_BODY_TIMEOUT_S  # s for the whole body once read, else 408
    max_head_size: int = MAX_HEAD_SIZE  # bytes of URL and headers, else 431


def format_size(size: int) -> str:
    """4194304 -> "4 MiB"; sizes that are not whole KiB or MiB stay in bytes."""
    for unit, factor in (("GiB", 1024 * MiB), ("MiB", MiB), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def parse_size(text: str) -> int:
    """ "4194304", "512K", "4M", "4MiB", "1G" -> bytes (K, M, G are powers of 1024)."""
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    factors = {"K": 1024, "M": MiB, "G": 1024 * MiB}
    factor = factors.get(cleaned[-1:], 1)
    digits = cleaned[:-1] if cleaned[-1:] in factors else cleaned
    if not digits.isdigit():
        raise ValueError(f"{text!r} is not a size (bytes, or a number with K, M or G)")
    return int(digits) * factor
