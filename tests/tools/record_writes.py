"""Run the local runtime with an unbuffered stdout and stderr (as `python -u` makes them)
that also keep each write() they pass to the file descriptor, one JSON string per line of
the file named first: ``python record_writes.py WRITES.jsonl [runtime flags...]``.

Only the server's own process is recorded; its workers are fresh interpreters."""

from __future__ import annotations

import io
import json
import os
import runpy
import sys


class RecordedFd(io.RawIOBase):
    def __init__(self, fd: int, record: io.TextIOBase) -> None:
        self.fd, self.record = fd, record

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self.record.write(json.dumps(bytes(data).decode()) + "\n")
        self.record.flush()
        return os.write(self.fd, data)


record = open(sys.argv.pop(1), "a", encoding="utf-8")  # noqa: SIM115 (open while it runs)
sys.stdout = io.TextIOWrapper(RecordedFd(1, record), write_through=True)
sys.stderr = io.TextIOWrapper(RecordedFd(2, record), write_through=True)
runpy.run_module("cortex_tools.runtime", run_name="__main__", alter_sys=True)
