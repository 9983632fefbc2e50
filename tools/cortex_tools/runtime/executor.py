"""The predict pool: ``threads_per_worker`` threads, none of them the worker's main thread.

Cortex 0.17 makes ``ThreadPoolExecutor(max_workers=threads_per_worker)`` the event loop's
default executor, and Starlette 0.13 ran sync routes there. Today's Starlette runs sync
code on anyio's worker threads instead (up to 40 of them), which would hide the bug this
runtime exists to show, so predictions go through an executor of our own, always.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

THREAD_NAME_PREFIX = "predict"


class PredictPool:
    """Runs blocking calls on exactly ``threads`` threads.

    ``ThreadPoolExecutor`` starts a thread per submitted call until it has
    ``max_workers`` (reusing idle ones first), and never more. Its threads are new
    threads, so none of them is the thread that built the predictor.
    """

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.threads = threads
        self._executor = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix=THREAD_NAME_PREFIX
        )

    async def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` on a pool thread, awaited from the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def install_as_default(self, loop: asyncio.AbstractEventLoop) -> None:
        """Also serve ``run_in_executor(None, ...)``, as Cortex's loop does."""
        loop.set_default_executor(self._executor)

    def shutdown(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=not wait)
