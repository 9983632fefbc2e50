"""Start-up failures: what went wrong, in the words a user needs to fix it."""

from __future__ import annotations


class StartupError(Exception):
    """The server cannot start. ``str(e)`` is the one line printed before exiting.

    ``details`` are lines printed before it (e.g. each problem of an invalid config), or
    for an exception in the user's code its traceback, printed only with --debug unless
    ``traceback_helps`` is false.
    """

    traceback_helps = True

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.details = list(details or [])


class ConfigError(StartupError):
    """The config file is missing or invalid, or the API is not in it."""


class PredictorError(StartupError):
    """The predictor file cannot be loaded, breaks the class rules, or its __init__ raised.

    The message reads like Cortex's own (pkg/workloads/cortex/lib/type/predictor.py), so
    a user sees here what ``cortex logs`` would show after a deploy.
    """


class WorkerFailure(StartupError):
    """The workers cannot be kept running: a worker's restarts keep failing."""
