"""A bench run's folder (make bench: bench/results): report.md, summary.json (and the
plots, via bench.plots), and the one-screen summary printed at the end of a run."""

from __future__ import annotations

import json
import math
import shlex
import statistics
from pathlib import Path
from typing import Any

from cortex_tools.bench import plots
from cortex_tools.bench.rounds import SPREAD_SHARE

# The issue's summary.json keys: checked before writing, so a report never silently
# lacks one.
REQUIRED_KEYS = ("overhead_ns", "sess_run_us", "model_rate", "http_floor_rps", "bare_asgi_rps",
                 "served", "composed_fraction_best", "machine", "gc", "sess_run_paused")
SERVED_KEYS = ("strategy", "threads", "workers", "rps", "p50_ms", "p90_ms", "p99_ms", "errors")
OVERHEAD_KEYS = ("none", "per_request", "once_per_thread", "instance_flag")
DEFAULT_OUT = "bench/results"  # make bench's BENCH_OUT, unless given
SEED_AS_DEFAULT_US = 0.4  # the seed page: graph.as_default() "about 0.4 microseconds"


def write(summary: dict[str, Any], out: Path) -> Path:
    """Plots, summary.json and report.md into ``out``; the report's path."""
    check(summary)
    out.mkdir(parents=True, exist_ok=True)
    summary["plots"] = plots.write_all(summary, out)
    _write_text(out / "summary.json", json.dumps(summary, indent=2, sort_keys=False) + "\n")
    _write_text(out / "report.md", markdown(summary))
    return out / "report.md"


def check(summary: dict[str, Any]) -> None:
    missing = [k for k in REQUIRED_KEYS if k not in summary]
    overhead_ns = summary.get("overhead_ns", {})
    missing += [f"overhead_ns.{k}" for k in OVERHEAD_KEYS if k not in overhead_ns]
    for row in summary.get("served", []):
        missing += [f"served.{k}" for k in SERVED_KEYS if k not in row]
    if missing:
        raise ValueError(f"summary lacks {', '.join(sorted(set(missing)))}")


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")  # never a half-written file in results/
    tmp.write_text(text)
    tmp.replace(path)


def markdown(s: dict[str, Any]) -> str:
    parts = [
        _header(s), _targets(s), _overhead(s), _model(s), _floors(s), _served(s),
        _composed(s), _seed_claims(s), _method(s),
    ]
    return "\n\n".join(p.rstrip() for p in parts) + "\n"


def _out_arg(s: dict[str, Any]) -> str:
    """' BENCH_OUT=DIR' when the run wrote elsewhere than make bench's bench/results."""
    args = shlex.split(s["command"])
    out = args[args.index("--out") + 1] if "--out" in args[:-1] else DEFAULT_OUT
    return "" if out == DEFAULT_OUT else f" BENCH_OUT={out}"


def _header(s: dict[str, Any]) -> str:
    m = s["machine"]
    make = "make bench" + (" QUICK=1" if s["plan"] == "quick" else "") + _out_arg(s)
    return f"""# make bench: {s['plan']} run

Made with `{s['command']}` (what `{make}` runs)
on {s['started_at']}, in {s['duration_s']:.0f} s.

| machine | |
|---|---|
| CPU | {m['cpu_model']}, {m['cores']} cores ({m['usable_cores']} usable) |
| platform | {m['platform']} |
| software | {_software(m)} |
| load generator | {m['wrk']} |
| load average | {_loads(m)} |"""


def _software(m: dict) -> str:
    return (f"Python {m['python']}, TensorFlow {m['tensorflow']}, numpy {m['numpy']}, "
            f"uvicorn {m['uvicorn']} ({m['http_impl']}, {m['event_loop']}), "
            f"starlette {m['starlette']}")


def _loads(m: dict) -> str:
    start, end = m.get("load_average_start"), m.get("load_average_end")
    fmt = lambda v: " / ".join(f"{x:.2f}" for x in v) if v else "n/a"  # noqa: E731
    return f"{fmt(start)} at the start, {fmt(end)} at the end (1 / 5 / 15 min)"


def _targets(s: dict[str, Any]) -> str:
    lines = ["## Targets", "", "| target | measured | holds |", "|---|---|---|"]
    lines += [f"| {t['name']} | {t['measured']} | {'yes' if t['holds'] else '**no**'} |"
              for t in s["targets"]]
    for t in s["targets"]:
        lines += ["", f"- **{t['name']}**: {t['why']}"]
        if t.get("fix"):
            lines.append(f"  Why it is missed and what would fix it: {t['fix']}")
    return "\n".join(lines)


def _overhead(s: dict[str, Any]) -> str:
    o = s["overhead"]
    ns, calls = s["overhead_ns"], o["call_ns"]
    iqr, ratio = o["overhead_ns_iqr"], o["ratio_to_per_request"]
    fraction = o["fraction_of_sess_run"]
    lines = [
        "## 1. Strategy overhead per call",
        "",
        f"Median of {s['overhead']['repeats']} repeats of timeit loops on one non-main "
        f"thread; the called function does nothing, so what remains is the strategy. One "
        f"sess.run of the bundled model (predict_on_sess) takes **{s['sess_run_us']:.0f} µs**.",
        "",
        "| variant | ns per call | over the bare call (ns) | spread (IQR, ns) "
        "| ratio to per_request | fraction of one sess.run |",
        "|---|---|---|---|---|---|",
    ]
    for v in ns:
        lines.append(f"| {v} | {calls[v]:.1f} | {ns[v]:.1f} | {iqr[v]:.1f} | {ratio[v]:.4f} "
                     f"| {_pct(fraction[v])} |")
    lines += [
        "",
        "`none` is `fn(sess, features)` itself; `wrapper` is a pass-through method that "
        "adds nothing (the floor of any wrapper); `instance_flag` is the seed page's "
        "literal enter-once; `graph_as_default` is `with sess.graph.as_default():` alone, "
        "the seed page's 0.4 µs.",
        "",
        f"![overhead]({s['plots']['overhead']})",
    ]
    return "\n".join(lines)


def _model(s: dict[str, Any]) -> str:
    by_workers = s["model_rate_by_workers"]
    header = " | ".join(f"{w} process(es): calls/s | CPU µs/call" for w in by_workers)
    lines = [
        "## 2. The model's limit (no HTTP)",
        "",
        "Threads calling `predict_on_sess` (one sess.run) on one session as fast as they "
        "can; with more processes (as workers_per_replica), each has its own session and "
        "threads and the rates add up. CPU per call counts TensorFlow's own threads.",
        "",
        f"| threads | {header} |",
        "|---|" + "---|---|" * len(by_workers),
    ]
    for threads in s["model_rate"]:
        cells = []
        for table in by_workers.values():
            rate = table["model_rate"].get(threads)
            cpu = table["model_cpu_us_per_call"].get(threads)
            cells += ["" if rate is None else f"{rate:.0f}", "" if cpu is None else f"{cpu:.0f}"]
        lines.append(f"| {threads} | " + " | ".join(cells) + " |")
    paused = s["sess_run_paused"]
    lines += [
        "",
        f"One call at a time on one thread: {paused['tight_wall_us']:.0f} µs "
        f"({paused['tight_cpu_us']:.0f} µs of CPU) in a tight loop, "
        f"{paused['after_1ms_pause_wall_us']:.0f} µs ({paused['after_1ms_pause_cpu_us']:.0f} µs "
        "of CPU) when each call follows a 1 ms pause, as served calls follow other work.",
    ]
    lines += _session_options(s.get("session_options"))
    lines += ["", "| batch size | µs per sess.run | examples/s (1 thread) |", "|---|---|---|"]
    lines += [f"| {b['batch']} | {b['us_per_call']:.0f} | {b['examples_per_s']:.0f} |"
              for b in s["batch"]]
    lines += ["", f"![batch]({s['plots']['batch']})"]
    return "\n".join(lines)


def _session_options(found: dict[str, Any] | None) -> list[str]:
    """Section 2's comparison of cortex.yaml's session options with TensorFlow's defaults."""
    if not found:
        return []
    options = ", ".join(f"`{k}: {v}`" for k, v in found["options"].items()) or "none"
    rows = {"shipped": f"cortex.yaml ({options})", "tf_defaults": "TensorFlow's defaults"}
    lines = ["", "Session options, one thread (every figure above uses cortex.yaml's):", "",
             "| session options | calls/s | CPU µs/call | after a 1 ms pause: µs | CPU µs |",
             "|---|---|---|---|---|"]
    for key, label in rows.items():
        r = found[key]
        lines.append(f"| {label} | {r['calls_per_s']:.0f} | {r['cpu_us_per_call']:.0f} | "
                     f"{r['after_1ms_pause_wall_us']:.0f} | {r['after_1ms_pause_cpu_us']:.0f} |")
    return lines


def _floors(s: dict[str, Any]) -> str:
    bare = s["bare_asgi"]
    lines = [
        "## 3. HTTP floors",
        "",
        f"Bare ASGI (raw app, same uvicorn, 1 process): **{bare['rps']:.0f} req/s**, "
        f"p50 {bare['p50_ms']:.2f} ms, p99 {bare['p99_ms']:.2f} ms, errors {bare['errors']} "
        f"({bare['requests']} requests per run).",
        f"Runtime no-op floor at 1 thread, 1 worker: **{s['http_floor_rps']:.0f} req/s** "
        f"= {_pct(s['floor_ratio'])} of bare (median of the run-by-run ratios: "
        f"{', '.join(_pct(x) for x in s['floor_ratio_runs'])}).",
        "",
        "| threads | workers | req/s | p50 ms | p99 ms | errors | server CPU µs/req "
        "| server cores | wrk cores | busiest worker | runs (req/s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in [*s["http_floor"], {**bare, "threads": "bare ASGI", "workers": 1}]:
        runs = ", ".join(f"{x:.0f}" for x in r["runs"])
        lines.append(f"| {r['threads']} | {r['workers']} | {r['rps']:.0f} | {r['p50_ms']:.2f} "
                     f"| {r['p99_ms']:.2f} | {r['errors']} | {_g(r, 'server_cpu_us_per_request')} "
                     f"| {_g(r, 'server_cores', 2)} | {_g(r, 'wrk_cores', 2)} | {_share(r)} "
                     f"| {runs} |")
    return "\n".join(lines)


def _served(s: dict[str, Any]) -> str:
    first = s["served"][0]
    lines = [
        "## 4. Served: strategy x threads_per_worker x workers_per_replica",
        "",
        f"Every row: {first['requests']} requests per run, {len(first['runs'])} run(s) after a "
        f"warm-up, concurrency {first['concurrency']}; medians of the runs, errors summed. "
        "With 2 workers, *load spread* is the median of the runs whose busiest worker did "
        "at most 70% of the work, and *fraction* sets it against the composed ideal (of "
        "both workers working); see *Busiest worker* below.",
        "",
        "| strategy | threads | workers | req/s | p50 ms | p90 ms | p99 ms | errors "
        "| load spread: req/s (runs) | composed ideal | fraction | server cores "
        "| busiest worker | runs (req/s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in s["served"]:
        runs = ", ".join(f"{x:.0f}" for x in r["runs"])
        lines.append(
            f"| {r['strategy']} | {r['threads']} | {r['workers']} | {r['rps']:.0f} "
            f"| {r['p50_ms']:.1f} | {r['p90_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} "
            f"| {_spread_cell(r)} | {r['composed_ideal_rps']:.0f} "
            f"| {_pct(r['composed_fraction'])} "
            f"| {_g(r, 'server_cores', 2)} | {_share(r)} | {runs} |")
    lines += _session_options_served(s.get("session_options_served"))
    lines += ["", _tails_note(s), "", _workers_note(s), "",
              f"![throughput]({s['plots']['throughput']})", "",
              f"![p99]({s['plots']['p99']})"]
    return "\n".join(lines)


def _session_options_served(found: list[dict[str, Any]] | None) -> list[str]:
    """Section 4's comparison of cortex.yaml's session options with TensorFlow's defaults,
    served in the same rounds (the full plan only)."""
    if not found:
        return []
    lines = ["", "*Session options, served*: once_per_thread with cortex.yaml's session "
             "options and with TensorFlow's default thread pools, in the same rounds; the "
             "ratio is the median of the run-by-run ratios.", "",
             "| threads | workers | cortex.yaml: req/s | TF defaults: req/s | errors "
             "| ratio | runs (ratio) |", "|---|---|---|---|---|---|---|"]
    for r in found:
        runs = ", ".join(f"{x:.2f}" for x in r["ratio_runs"])
        lines.append(f"| {r['threads']} | {r['workers']} | {r['shipped_rps']:.0f} "
                     f"| {r['tf_defaults_rps']:.0f} | {r['tf_defaults_errors']} "
                     f"| {r['ratio']:.2f} | {runs} |")
    return lines


def _tails_note(s: dict[str, Any]) -> str:
    """Where the long p99s come from: full garbage collections in a worker."""
    g = s["gc"]
    slow = [r for r in s["served"] if r["p99_ms"] >= g["full_gc_ms"] / 2]
    noop_worst = max(r["p99_ms"] for r in s["http_floor"])
    return (
        f"*Tails*: {len(slow)} of {len(s['served'])} rows have a p99 of "
        f"{g['full_gc_ms'] / 2:.0f} ms or more, while no no-op row exceeds "
        f"{noop_worst:.0f} ms. A full garbage collection in a process holding TensorFlow "
        f"and the model ({g['tracked_objects']} tracked objects) takes "
        f"**{g['full_gc_ms']:.0f} ms** (measured in the bench's own process) and holds the "
        "GIL, so every request in flight waits: the long p99s are consistent with runs "
        "that contained one, and they come and go between rows whatever the threads or "
        "the strategy. After `gc.freeze()` (Python 3.7+) the same collection takes "
        f"{_ms(g['full_gc_ms_after_freeze'])}.")


def _share(row: dict) -> str:
    """The busiest worker's share of the workers' CPU, median of the runs (50% = even)."""
    shares = [x for x in row.get("busiest_worker_share") or [] if x is not None]
    return "–" if not shares else _pct(statistics.median(shares))


def _spread_cell(row: dict) -> str:
    """'3300 (3 of 7)' for a row with several workers; '–' for one worker."""
    shares = row.get("busiest_worker_share")
    if not shares:
        return "–"
    spread = sum(1 for x in shares if x is not None and x <= SPREAD_SHARE)
    rate = f"{row['rps_spread_runs']:.0f}" if row.get("rps_spread_runs") else "none"
    return f"{rate} ({spread} of {len(shares)})"


def _workers_note(s: dict[str, Any]) -> str:
    rows = [r for r in s["served"] + s["http_floor"] if r.get("busiest_worker_share")]
    if not rows:
        return ""
    shares = [x for r in rows for x in r["busiest_worker_share"] if x is not None]
    lopsided = sum(1 for x in shares if x >= 0.8)
    all_runs = [r["composed_fraction_all_runs"] for r in s["served"]
                if r.get("rps_spread_runs")]
    spread = [r["composed_fraction"] for r in s["served"] if r.get("rps_spread_runs")]
    spread_text = (
        f" Over their runs with the load spread (busiest worker at most 70%), the 2-worker "
        f"rows reach {_pct(min(spread))}-{_pct(max(spread))} of their composed ideal; over "
        f"all runs, {_pct(min(all_runs))}-{_pct(max(all_runs))}." if spread else
        " No served run had its load spread (busiest worker at most 70%).")
    return (
        f"*Busiest worker*: with workers_per_replica > 1, the share of the workers' CPU "
        f"taken by the busiest one in a run (50% = even; median of the runs). In "
        f"{lopsided} of {len(shares)} runs with several workers one did 80% or more. wrk "
        "opens its keep-alive connections all at once, and the worker whose event loop "
        "wakes first accepts the connections pending on the shared socket at that moment, "
        "so the split, and the rate, is decided when a run starts: see the runs column."
        + spread_text + " So the 2-worker rows' req/s "
        "(all runs), and the strategies' differences there, follow how the runs happened "
        "to split, not the strategy: compare strategies on the 1-worker rows. Cortex 0.17's "
        "uvicorn shares one socket between workers in the same way, so clients holding a "
        "few long-lived connections get the same: a second worker helps only when "
        "connections are opened over time, as a proxy opens them when load grows, or "
        "reopened.")


def _composed(s: dict[str, Any]) -> str:
    b = s["best"]
    return f"""## 5. Composed ideal

For each row, 1 / (1/model_rate + 1/http_rate): the model's rate without HTTP in as many
processes and threads as the row has (section 2) and the runtime's no-op floor at the
row's own threads and workers (section 3). It assumes the two costs simply add up on
this machine's cores. With several workers the ideal is all of them working: the model in
as many processes, and the no-op floor's rate over its runs whose load was spread over
the workers (busiest worker at most 70%), when it had any; the served row's rate is taken
the same way, since a run whose connections all landed on one worker is a 1-worker run.
Best setting (highest req/s so compared): {b['strategy']}, threads={b['threads']},
workers={b['workers']}, {b['rps_compared']:.0f} req/s = **{_pct(s['composed_fraction_best'])}**
of its composed ideal (the highest fraction of any row: {_pct(s['composed_fraction_max'])})."""


def _seed_claims(s: dict[str, Any]) -> str:
    ns = s["overhead_ns"]
    less = s["overhead"]["times_less_than_per_request"]
    share = _pct(s["overhead"]["fraction_of_sess_run"]["per_request"])
    as_default_us = ns["graph_as_default"] / 1000
    flag_vs_as_default = ns["graph_as_default"] / ns["instance_flag"] if ns["instance_flag"] > 0 \
        else 0.0
    tensorflow = s["machine"]["tensorflow"]
    return "\n".join([
        "## The seed page's claims against these figures",
        "",
        f'- "graph.as_default() takes about 0.4 µs": measured **{as_default_us:.1f} µs**, '
        f"{as_default_us / SEED_AS_DEFAULT_US:.0f}x the claim, with TensorFlow {tensorflow}; "
        f"per_request (graph and session both) {ns['per_request'] / 1000:.1f} µs.",
        f'- "entering once is about 2 orders of magnitude faster": the page\'s flag costs '
        f"{ns['instance_flag']:.0f} ns, {flag_vs_as_default:.0f}x less than graph.as_default() "
        f"and {less.get('instance_flag', 0):.0f}x less than per_request; once_per_thread "
        f"(right at any thread count, unlike the flag) costs {ns['once_per_thread']:.0f} ns, "
        f"{less.get('once_per_thread', 0):.0f}x less than per_request.",
        f"- Even per_request is {share} of one sess.run, so the choice can move served "
        "throughput by about that much at most: compare the two strategies' rows in section 4 "
        "with their run-to-run spread.",
    ])


def _method(s: dict[str, Any]) -> str:
    return """## How it was measured

- Overhead: `timeit` loops of each variant, interleaved in every repeat; overhead = a
  variant's time minus the bare call's in the same repeat, median over repeats.
- Model: N threads call `predict_on_sess` on one session until a shared deadline, in
  rounds over the thread counts (median); for W workers, W spawned processes at once.
  CPU is the processes' (TensorFlow's threads included). Batches: one thread, `sess.run`.
- Load: wrk, one thread, a fixed request count per run (post_count.lua stops each wrk
  thread after its share and the rate is taken over the threads' own window), a warm-up
  run first. The servers of one (threads, workers), its no-op floor and both strategies
  (and the bare floor with 1 x 1), run side by side and take turns, round by round.
  They run on loopback beside wrk on the same cores; the runtime serves with its access
  log off. Server CPU is the whole process group's, from /proc."""


def _pct(value: float) -> str:
    if value == 0 or math.isnan(value):
        return "0%"
    if abs(value) < 0.001:
        return f"{100 * value:.4f}%"
    if abs(value) < 0.1:
        return f"{100 * value:.2f}%"
    return f"{100 * value:.0f}%"


def _ms(value: float) -> str:
    return "under 0.01 ms" if value < 0.01 else f"{value:.2f} ms"


def _g(row: dict, key: str, digits: int = 0) -> str:
    value = row.get(key)
    return "n/a" if value is None else f"{value:.{digits}f}"


def _options_note(s: dict[str, Any]) -> str:
    """' (TF's default pools: 2584 at 1t)' when the session options were compared."""
    found = s.get("session_options")
    if not found:
        return ""
    return f" (TF's default pools: {found['tf_defaults']['calls_per_s']:.0f} at 1t)"


def one_screen(s: dict[str, Any], report: Path) -> str:
    """The summary printed at the end: the headline figures and the targets."""
    ns = s["overhead_ns"]
    model = ", ".join(f"{t}t {r:.0f}" for t, r in s["model_rate"].items())
    lines = [
        f"make bench ({s['plan']}): {s['machine']['cpu_model']}, {s['machine']['cores']} cores, "
        f"{s['duration_s']:.0f} s",
        f"overhead ns/call over bare: per_request {ns['per_request']:.0f}, once_per_thread "
        f"{ns['once_per_thread']:.0f}, instance_flag {ns['instance_flag']:.0f}, "
        f"graph.as_default {ns['graph_as_default']:.0f}",
        f"one sess.run {s['sess_run_us']:.0f} µs; model calls/s: {model}{_options_note(s)}",
        f"floors: runtime no-op {s['http_floor_rps']:.0f} req/s, bare ASGI "
        f"{s['bare_asgi_rps']:.0f} req/s ({_pct(s['floor_ratio'])})",
        "served req/s (p99 ms)      " + "  ".join(
            f"t={t:<2}" + " " * 10 for t in sorted({r['threads'] for r in s['served']})),
    ]
    for strategy in dict.fromkeys(r["strategy"] for r in s["served"]):
        for workers in sorted({r["workers"] for r in s["served"]}):
            cells = [f"{r['rps']:5.0f} ({r['p99_ms']:5.1f})" for r in
                     sorted((r for r in s["served"] if r["strategy"] == strategy
                             and r["workers"] == workers), key=lambda r: r["threads"])]
            lines.append(f"  {strategy:<15} w={workers}  " + "  ".join(cells))
    b = s["best"]
    all_runs = "" if b["rps_compared"] == b["rps"] else f" ({b['rps']:.0f} over all runs)"
    lines.append(f"best: {b['strategy']} t={b['threads']} w={b['workers']} "
                 f"{b['rps_compared']:.0f} req/s{all_runs} = "
                 f"{_pct(s['composed_fraction_best'])} of composed ideal")
    lines += [f"[{'ok ' if t['holds'] else 'MISS'}] {t['name']}: {t['measured']}"
              for t in s["targets"]]
    lines.append(f"report: {report}")
    return "\n".join(lines)
