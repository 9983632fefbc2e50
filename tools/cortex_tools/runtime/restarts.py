"""When a dead worker is started again, and when the server stops trying.

A worker that dies while serving is restarted at once. A restart that fails (its
predictor's ``__init__`` raises, or it dies before it serves) is tried again after a
growing pause; after ``max_failed_restarts`` failures in a row the server gives up, since
the cause will not go away by itself. A restart that gets to serve clears the count.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

MAX_FAILED_RESTARTS = 3
FIRST_RETRY_PAUSE_S = 1.0  # then 2 s, 4 s, ... capped below
MAX_RETRY_PAUSE_S = 30.0


@dataclass(frozen=True)
class RestartPolicy:
    max_failed_restarts: int = MAX_FAILED_RESTARTS
    first_pause_s: float = FIRST_RETRY_PAUSE_S
    max_pause_s: float = MAX_RETRY_PAUSE_S

    def gives_up(self, failed_restarts: int) -> bool:
        return failed_restarts >= self.max_failed_restarts

    def pause_before(self, failed_restarts: int) -> float:
        """Seconds before the next start of a worker whose last ``failed_restarts``
        restarts failed: none after a death while serving."""
        if failed_restarts == 0:
            return 0.0
        return min(self.first_pause_s * 2 ** (failed_restarts - 1), self.max_pause_s)


def exit_cause(exitcode: int | None) -> str:
    """How a process ended, in words: "killed by SIGKILL", "exited with code 1"."""
    if exitcode is None:
        return "exit status unknown"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"killed by {name}"
    return f"exited with code {exitcode}"
