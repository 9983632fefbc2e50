"""`make bench`: which threads_per_worker, workers_per_replica, session strategy and
batching serve YOUR API fastest on this machine within a latency bound.

    .venv/bin/python -m cortex_tools.bench [--config cortex.yaml] [--api NAME] [--quick]
        [--p99-ms 50] [--connections 32] [--out bench/results]
    .venv/bin/python -m cortex_tools.bench --rewrite --out example/bench-reference

The API is --api (default: the first) of --config, in the current folder's project; the
payload is its sample.json. Writes report.md and summary.json into --out and prints the
report's first screen. --rewrite measures nothing: the report again from summary.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from cortex_tools.bench import (
    analysis,
    batching,
    floors,
    heavy_model,
    inprocess,
    report,
    soak,
    sweep,
    wrk,
)
from cortex_tools.bench.plan import FULL, QUICK, Plan
from cortex_tools.bench.served_copy import ServedCopy
from cortex_tools.bench.server import ServerError
from cortex_tools.image_stack import figures
from cortex_tools.project import payloads
from cortex_tools.runtime.config import ApiSpec, load_api
from cortex_tools.runtime.errors import ConfigError

TEMPLATE_ROOT = Path(__file__).resolve().parents[3]  # tools/cortex_tools/bench/run.py -> .


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("cortex.yaml"))
    parser.add_argument("--api", help="default: the config's first API")
    parser.add_argument("--quick", action="store_true", help="a handful of rows, < 2 min")
    parser.add_argument("--p99-ms", type=float, default=50.0, help="the latency bound")
    parser.add_argument("--connections", type=int, help="the sweep's load (default 32)")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--rewrite", action="store_true",
                        help="measure nothing: report.md again from --out's summary.json")
    args = parser.parse_args(argv)
    if args.rewrite:
        finish(json.loads((args.out / "summary.json").read_text()), args.out)
        return 0
    try:
        wrk.wrk_path()
        spec = load_api(args.config, args.api)
        sample = next((p.value for p in payloads(spec.project_dir) if p.name == "sample.json"),
                      None)
        if sample is None:
            raise ConfigError(f"{spec.project_dir}/sample.json is missing: the bench posts it")
    except (wrk.WrkError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    plan, started = QUICK if args.quick else FULL, time.time()
    summary: dict[str, Any] = {
        "command": " ".join([".venv/bin/python -m cortex_tools.bench",
                             shlex.join(sys.argv[1:] if argv is None else argv)]).strip(),
        "started_at": time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(started)),
        "plan": plan.name, "machine": machine(), "p99_bound_ms": args.p99_ms,
        "run_s": plan.run_s, "runs": plan.runs}
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # TF1 API deprecation notices

    def say(text: str) -> None:
        print(f"[{time.time() - started:4.0f} s] {text}", flush=True)

    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            summary.update(measure(spec, sample, plan, connections=args.connections,
                                   p99_ms=args.p99_ms, tmp=Path(tmp), say=say))
    except (ServerError, wrk.WrkError, ConfigError, ValueError) as e:  # the API's own fault
        print(f"error: {e}", file=sys.stderr)
        return 1
    summary["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    summary["machine"]["tensorflow"] = sys.modules["tensorflow"].__version__  # imported by now
    summary["duration_s"] = round(time.time() - started, 1)
    finish(summary, args.out)
    return 0


def measure(spec: ApiSpec, sample: Any, plan: Plan, *, connections: int | None,
            p99_ms: float, tmp: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Every section, in order: the measured part of summary.json."""
    body_file = tmp / "sample.json"
    body_file.write_text(json.dumps(sample))
    copy = ServedCopy(spec, tmp / "project")
    say("1/5 the model in-process: predict(sample.json) in a loop, strategy cost per call")
    inproc = inprocess.measure(copy.spec(), sample, threads=plan.inprocess_threads,
                               seconds=plan.inprocess_s, cost_repeats=plan.cost_repeats)
    say("1/5 the same on the image's own stack (Python 3.6, TensorFlow 2.1.0)")
    image = figures.measure(copy.spec(), sample, threads=plan.inprocess_threads,
                            seconds=plan.inprocess_s, repeats=plan.cost_repeats,
                            batch_size=plan.batch_threads)
    tf_session = "strategies" in inproc  # strategies and batching are tf_session's
    # Only Model.predict batches: a predict that drives the session itself (run_with_defaults,
    # model.run) runs alike with server_side_batching on or off, so batching is not tried.
    batches = inproc.get("model_use") == "predict"
    strategy = spec.predictor_config.get("session_strategy") if tf_session else None
    batch = (spec.predictor_config.get("server_side_batching") or {}).get("max_batch_size")
    found: dict[str, Any] = {"inprocess": inproc, "image_stack": image, "api": {
        "name": spec.name, "config": spec.config_path.name, "entry": copy.entry,
        "threads": spec.threads_per_worker, "workers": spec.workers_per_replica,
        "strategy": strategy, "batch": batch if batches else None}}
    # At most half the API's limit: past it the sweep would measure 503s, not speed.
    found["connections"] = min(connections or plan.connections,
                               max(spec.max_replica_concurrency // 2, 1))

    say(f"2/5 the sweep at {found['connections']} connections")
    found["sweep"] = rows = sweep.run(
        copy, plan, connections=found["connections"], batching=batches, say=say,
        strategies=tuple(inproc.get("strategies") or [None]), body_file=body_file)
    best = analysis.setting_of(analysis.row_named(rows, analysis.pick(rows, p99_ms)["key"]))
    say("2/5 the no-op floors: the project's runtime against a Cortex-like serve.py (image "
        "stack), a predictor that does nothing" + (
            "; and your API batched and unbatched through the latter" if batches else ""))
    found["floors"] = floors.measure(
        plan, tmp / "noop", connections=found["connections"], body_file=body_file, say=say,
        # The user's API too, batched and unbatched, when it batches: a copy of its own.
        batching=ServedCopy(spec, tmp / "cortex-like") if batches else None,
        strategy=strategy)

    if batches:
        say("3/5 batching off and on: your API, then a generated dense model")
    else:
        say(f"3/5 batching off and on: a generated dense model (not your API: "
            f"{analysis.batching_does_not_apply(found)})")
    found["batching"] = {"user": batching.section(copy, strategy, plan, sample, say=say,
                                                  body_file=body_file) if batches else None}
    own = spec.project_dir / "tf_session.py"  # the user's own version, else the template's
    dense = load_api(heavy_model.write_project(
        tmp / "dense", own if own.is_file() else TEMPLATE_ROOT / "tf_session.py"))
    found["batching"]["heavy"] = batching.section(
        ServedCopy(dense, tmp / "dense-served"), "once_per_thread", plan,
        json.loads((tmp / "dense" / "sample.json").read_text()),
        body_file=tmp / "dense" / "sample.json", say=say)

    say(f"4-5/5 soak and overload at {best.key}")
    found["soak"], found["overload"] = soak.run(copy, best, plan, body_file=body_file, say=say,
                                                api_limit=spec.max_replica_concurrency)
    return found


def machine() -> dict[str, Any]:
    """What the run was made on: without it no figure can be compared."""
    cpu = platform.processor() or "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo
                    if line.startswith("model name")), cpu)
    # `wrk --version` prints "wrk debian/4.1.0-3+b2 [epoll] Copyright ..." and exits 1.
    banner = subprocess.run([wrk.wrk_path(), "--version"], capture_output=True, text=True)
    return {"cores": os.cpu_count(), "cpu_model": cpu, "platform": platform.platform(),
            "python": platform.python_version(), "uvicorn": metadata.version("uvicorn"),
            "wrk": banner.stdout.split(" Copyright")[0].strip(),
            "load_average_start": [round(x, 2) for x in os.getloadavg()]}


def finish(summary: dict[str, Any], out: Path) -> None:
    """Answers from the measured figures; report.md and summary.json in ``out``."""
    analysis.analyze(summary)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out / "report.md").write_text(report.render(summary))
    print("\n" + report.one_screen(summary) + f"\n\nreport: {out / 'report.md'}")
