"""Serve one API of a Cortex 0.17 config locally, with a cluster replica's thread model.

    python -m cortex_tools.runtime --config cortex.yaml [--api NAME] [--port P] [--host H]
                                   [--threads N] [--workers W] [--no-access-log]
                                   [--max-body-size SIZE] [--header-timeout S]
                                   [--body-timeout S] [--heartbeat-timeout S] [--debug]

``make serve`` runs this. The project dir is the folder of the config file, as for
``cortex deploy``. ``workers_per_replica`` processes each build ``PythonPredictor`` on
their main thread and run ``predict`` on ``threads_per_worker`` pool threads; --threads
and --workers override the config for experiments. The line ``serving API ...`` says
that every worker is ready. Start-up failures print one ``error: ...`` line to stderr and
exit 1 (--debug adds the traceback of an exception in the user's code); SIGINT/SIGTERM stop
the server cleanly (exit 0). A worker that dies, or whose event loop stops for
--heartbeat-timeout, is restarted; when its restarts keep failing, the server stops with an
``error: ...`` line (exit 1).
"""

from __future__ import annotations

import argparse
import math
import os
import sys

from cortex_tools.runtime.limits import (
    DEFAULT_BODY_TIMEOUT_S,
    DEFAULT_HEADER_TIMEOUT_S,
    DEFAULT_MAX_BODY_SIZE,
    Limits,
    format_size,
    parse_size,
)
from cortex_tools.runtime.server import DEFAULT_HOST, ServeOptions, serve
from cortex_tools.runtime.supervisor import DEFAULT_HEARTBEAT_TIMEOUT_S
from cortex_tools.runtime.worker import HEARTBEAT_EVERY_S


def port_number(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0..65535; 0 picks a free one)")
    return port


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not >= 1")
    return value


def size(text: str) -> int:
    try:
        value = parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not >= 1 byte")
    return value


def seconds(text: str) -> float:
    value = float(text)
    if not (value > 0 and math.isfinite(value)):  # nan compares false
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds > 0")
    return value


def heartbeat_seconds(text: str) -> float:
    value = float(text)
    if value != 0 and not (value >= 2 * HEARTBEAT_EVERY_S and math.isfinite(value)):
        raise argparse.ArgumentTypeError(
            f"{text} is neither 0 (off) nor >= {2 * HEARTBEAT_EVERY_S} (beats come every "
            f"{HEARTBEAT_EVERY_S} s)")
    return value


def parse_args(argv: list[str] | None = None) -> ServeOptions:
    parser = argparse.ArgumentParser(
        description="Serve one API of a Cortex 0.17 config locally, as a cluster replica "
        "runs it (workers_per_replica processes x threads_per_worker predict threads)."
    )
    parser.add_argument("--config", default="cortex.yaml", help="default: cortex.yaml")
    parser.add_argument("--api", help="the API to serve (default: the file's first)")
    parser.add_argument(
        "--port", type=port_number, help="default: the API's local_port, else 8888"
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"default: {DEFAULT_HOST}")
    parser.add_argument(
        "--threads", type=positive, help="override autoscaling.threads_per_worker"
    )
    parser.add_argument(
        "--workers", type=positive, help="override autoscaling.workers_per_replica"
    )
    parser.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="skip the per-request log line (for benchmarks)",
    )
    parser.add_argument(
        "--max-body-size", type=size, default=DEFAULT_MAX_BODY_SIZE, metavar="SIZE",
        help=f"largest request body read, in bytes or with K/M/G (default "
        f"{format_size(DEFAULT_MAX_BODY_SIZE).replace(' ', '')}); larger: 413",
    )
    parser.add_argument(
        "--header-timeout", type=seconds, default=DEFAULT_HEADER_TIMEOUT_S, metavar="S",
        help=f"seconds a connection has to send a complete request head (default "
        f"{DEFAULT_HEADER_TIMEOUT_S:g}); then 408, or closed if it sent nothing",
    )
    parser.add_argument(
        "--body-timeout", type=seconds, default=DEFAULT_BODY_TIMEOUT_S, metavar="S",
        help=f"seconds a request has to send its whole body (default "
        f"{DEFAULT_BODY_TIMEOUT_S:g}); then 408",
    )
    parser.add_argument(
        "--heartbeat-timeout", type=heartbeat_seconds, default=DEFAULT_HEARTBEAT_TIMEOUT_S,
        metavar="S", help=f"replace a worker whose event loop is silent this long (default "
        f"{DEFAULT_HEARTBEAT_TIMEOUT_S:g}; 0: never)",
    )
    parser.add_argument(
        "--debug", action="store_true",
        help="print the traceback of an exception raised by predictor.py at start",
    )
    args = parser.parse_args(argv)
    return ServeOptions(
        config=args.config,
        api=args.api,
        port=args.port,
        host=args.host,
        threads=args.threads,
        workers=args.workers,
        access_log=args.access_log,
        limits=Limits(
            max_body_size=args.max_body_size,
            header_timeout=args.header_timeout,
            body_timeout=args.body_timeout,
        ),
        heartbeat_timeout=args.heartbeat_timeout,
        debug=args.debug,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    # TensorFlow's C++ INFO lines (oneDNN, CPU features) drown the server's own start-up
    # lines; its warnings and errors still show. Set the variable to 0 to see everything.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    try:
        return serve(options)
    except KeyboardInterrupt:  # Ctrl-C before the workers started: nothing to clean up
        return 130


if __name__ == "__main__":
    sys.exit(main())
