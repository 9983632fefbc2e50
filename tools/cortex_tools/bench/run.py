#!/usr/bin/env python3
"""`make bench`: measure the strategies, the model, the floors and the served API.

    .venv/bin/python -m cortex_tools.bench [--quick] [--out bench/results]
    .venv/bin/python -m cortex_tools.bench --rewrite --out example/bench-reference

Writes report.md, summary.json and PNG plots into --out and prints a one-screen summary.
--quick: the same sections with fewer repeats and rows (under 2 minutes on 2 cores).
--rewrite: no measuring; the report again from --out's summary.json.
Needs wrk: installed with apt-get when missing (as root), else the command to run is
printed and the exit status is 2.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cortex_tools.bench import (
    analysis,
    floors,
    gc_pause,
    load,
    machine,
    model_procs,
    model_rate,
    overhead,
    report,
    rounds,
    served,
)
from cortex_tools.bench.paths import ROOT
from cortex_tools.bench.report import DEFAULT_OUT
from cortex_tools.bench.servers import served_project
from cortex_tools.bench.settings import FULL, QUICK, Plan


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and rows")
    parser.add_argument("--out", type=Path, default=ROOT / DEFAULT_OUT,
                        help="folder for report.md, summary.json and the plots")
    parser.add_argument("--rewrite", action="store_true",
                        help="measure nothing: write report.md and the plots again from "
                             "--out's summary.json (after a change to the report's code)")
    return parser.parse_args(argv)


def command_line(argv: list[str] | None) -> str:
    """How this run was started, relative to the repository when it can be."""
    args = sys.argv[1:] if argv is None else argv
    python = _relative(Path(sys.executable))
    script = _relative(Path(__file__).resolve())
    return shlex.join([python, script, *args])


def _relative(path: Path) -> str:
    try:
        return str(path.absolute().relative_to(ROOT))
    except ValueError:
        return str(path)


def collect(plan: Plan, say: Callable[[str], None]) -> dict[str, Any]:
    """Every section, in order; the summary without targets and plots."""
    summary: dict[str, Any] = {"plan": plan.name, "machine": machine.describe()}

    say("1/4 strategy overhead per call ...")
    measured = overhead.measure(plan)
    summary["overhead_ns"] = measured.pop("overhead_ns")
    summary["sess_run_us"] = measured.pop("sess_run_us")
    summary["overhead"] = measured

    say("2/4 the model's limit without HTTP ...")
    summary.update(model_rate.measure(plan))
    # The same in W processes for the served rows' workers_per_replica > 1.
    by_workers = {"1": {k: summary[k] for k in ("model_rate", "model_cpu_us_per_call")}}
    for workers in (w for w in plan.workers if w > 1):
        by_workers[str(workers)] = model_procs.measure(plan, workers, plan.threads)
    summary["model_rate_by_workers"] = by_workers
    summary["gc"] = gc_pause.measure()  # this process now holds TensorFlow and the model

    say("3-4/4 HTTP floors and served rows, one (threads, workers) at a time ...")
    configs = plan.served_configs()
    measured = measure_http(plan, configs, say)
    summary.update(floors.summarize(measured, configs))
    summary["served"] = served.rows(measured, configs, plan.strategies)
    if plan.session_defaults_at:
        summary["session_options_served"] = served.session_options_rows(
            measured, plan.session_defaults_at)
    return summary


def measure_http(plan: Plan, configs: list[tuple[int, int]],
                 say: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Sections 3 and 4: per (threads, workers), its no-op floor and both strategies in
    the same rounds (and the bare floor with the 1 x 1 ones); rows by key."""
    measured: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-served-") as tmp, \
            served_project(Path(tmp) / "project") as config:
        for threads, workers in configs:
            say(f" threads_per_worker={threads} workers_per_replica={workers}:")
            targets = [floors.bare_target()] if (threads, workers) == (1, 1) else []
            targets.append(floors.noop_target(threads, workers))
            targets += [served.served_target(config, strategy, threads, workers)
                        for strategy in plan.strategies]
            if (threads, workers) in plan.session_defaults_at:
                targets.append(served.tf_defaults_target(config, threads, workers))
            measured.update(rounds.measure_together(targets, plan, say))
    return measured


def finish(summary: dict[str, Any], out: Path) -> None:
    """From the measured figures: composed ideals and targets, the report, the plots and
    summary.json in ``out``, then the one-screen summary."""
    analysis.compose(summary)
    summary["targets"] = analysis.targets(summary)
    path = report.write(summary, out)
    print()
    print(report.one_screen(summary, _relative(path)))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rewrite:  # the measured figures of an earlier run, written up again
        finish(json.loads((args.out / "summary.json").read_text()), args.out)
        return 0
    plan = QUICK if args.quick else FULL
    say = lambda text: print(text, flush=True)  # noqa: E731
    try:
        load.ensure_wrk(install=True, say=say)
    except load.LoadError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    started = time.time()
    summary = {"command": command_line(argv),
               "started_at": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)),
               **collect(plan, say)}
    summary["machine"]["load_average_end"] = machine.load_average()
    summary["duration_s"] = round(time.time() - started, 1)
    finish(summary, args.out)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
