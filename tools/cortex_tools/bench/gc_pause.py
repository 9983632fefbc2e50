"""How long a full garbage collection stops a process that holds TensorFlow and the model.

A served worker is such a process. A full (generation 2) collection walks every tracked
object, TensorFlow's hundreds of thousands included, while holding the GIL: every
request in flight waits. Measured here, in the bench's own process, after sections 1
and 2 have loaded the same modules and model; then again after ``gc.freeze()`` (Python
3.7+), which moves the objects that exist so far out of the collector's reach.
"""

from __future__ import annotations

import gc
import statistics
import time
from typing import Any

REPEATS = 3


def measure() -> dict[str, Any]:
    gc.collect()  # start from a clean heap: what remains is what a worker keeps
    tracked = len(gc.get_objects())
    normal = _full_collection_ms()
    gc.freeze()
    try:
        frozen = _full_collection_ms()
    finally:
        gc.unfreeze()  # leave the process as it was
    return {"tracked_objects": tracked, "full_gc_ms": round(normal, 1),
            "full_gc_ms_after_freeze": round(frozen, 3)}


def _full_collection_ms() -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)
