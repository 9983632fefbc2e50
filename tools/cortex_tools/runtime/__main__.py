"""Serve one API of a Cortex 0.17 config locally, with a cluster replica's thread model.

    python -m cortex_tools.runtime --config cortex.yaml [--api NAME] [--port P] [--host H]
                                   [--threads N] [--workers W] [--no-access-log]

``make serve`` runs this. The project dir is the folder of the config file, as for
``cortex deploy``. ``workers_per_replica`` processes each build ``PythonPredictor`` on
their main thread and run ``predict`` on ``threads_per_worker`` pool threads; --threads
and --workers override the config for experiments. The line ``serving API ...`` says
that every worker is ready. Start-up failures print one ``error: ...`` line to stderr and
exit 1; SIGINT/SIGTERM stop the server cleanly (exit 0).
"""

from __future__ import annotations

import argparse
import os
import sys

from cortex_tools.runtime.server import DEFAULT_HOST, ServeOptions, serve


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
    args = parser.parse_args(argv)
    return ServeOptions(
        config=args.config,
        api=args.api,
        port=args.port,
        host=args.host,
        threads=args.threads,
        workers=args.workers,
        access_log=args.access_log,
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
