"""The report's PNGs (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

OVERHEAD_VARIANTS = ("instance_flag", "wrapper", "once_per_thread", "graph_as_default",
                     "per_request")
FILES = {"throughput": "throughput.png", "p99": "p99.png", "overhead": "overhead.png",
         "batch": "batch.png"}


def write_all(summary: dict[str, Any], out: Path) -> dict[str, str]:
    """Every plot into ``out``; their file names by kind."""
    _served(summary["served"], "rps", "requests/s", "Served throughput", out / FILES["throughput"])
    _served(summary["served"], "p99_ms", "p99 latency (ms)", "Served p99 latency",
            out / FILES["p99"])
    _overhead(summary, out / FILES["overhead"])
    _batch(summary["batch"], out / FILES["batch"])
    return dict(FILES)


def _served(rows: list[dict], key: str, label: str, title: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    lines = sorted({(r["strategy"], r["workers"]) for r in rows})
    for strategy, workers in lines:
        line = sorted((r for r in rows if (r["strategy"], r["workers"]) == (strategy, workers)),
                      key=lambda r: r["threads"])
        threads = [r["threads"] for r in line]
        values = [r[key] for r in line]
        # Throughput: bars from the slowest to the fastest run, the spread to read it by.
        spread = None
        if key == "rps":
            spread = [[v - min(r["runs"]) for v, r in zip(values, line, strict=True)],
                      [max(r["runs"]) - v for v, r in zip(values, line, strict=True)]]
        ax.errorbar(threads, values, yerr=spread, marker="o", capsize=3,
                    linestyle="-" if strategy == "once_per_thread" else "--",
                    label=f"{strategy}, workers={workers}")
    threads = sorted({r["threads"] for r in rows})
    ax.set_xscale("log", base=2)
    ax.set_xticks(threads, [str(t) for t in threads])
    ax.set_xlabel("threads_per_worker")
    ax.set_ylabel(label)
    ax.set_ylim(bottom=0)
    note = ", bars: slowest to fastest run" if key == "rps" else ", median of runs"
    ax.set_title(f"{title} (concurrency {rows[0]['concurrency']}{note})")
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)


def _overhead(summary: dict[str, Any], path: Path) -> None:
    ns = summary["overhead_ns"]
    variants = [v for v in OVERHEAD_VARIANTS if v in ns]
    values = [max(ns[v], 0.1) for v in variants]  # log axis: no zero or negative bars
    fig, ax = plt.subplots(figsize=(7, 3.8))
    colors = ["tab:orange" if v == "once_per_thread" else "tab:blue" for v in variants]
    bars = ax.barh(variants, values, color=colors, left=1)
    ax.set_xscale("log")
    ax.axvline(100, color="tab:red", linestyle="--", linewidth=1,
               label="target for once_per_thread: 100 ns")
    ax.axvline(400, color="gray", linestyle=":", linewidth=1,
               label="seed page: graph.as_default() 0.4 µs")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel(f"ns per call over a bare call (one sess.run = {summary['sess_run_us']:.0f} µs)")
    ax.set_title("Strategy overhead per call (median of repeats)")
    for bar, value in zip(bars, [ns[v] for v in variants], strict=True):
        ax.text(bar.get_width() * 1.1, bar.get_y() + bar.get_height() / 2, f"{value:.0f} ns",
                va="center")
    ax.set_xlim(left=1, right=max(values) * 8)
    ax.grid(alpha=0.3, axis="x")
    _save(fig, path)


def _batch(batches: list[dict], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 3.8))
    sizes = [b["batch"] for b in batches]
    ax.plot(sizes, [b["examples_per_s"] for b in batches], marker="o")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("batch size (examples per sess.run)")
    ax.set_ylabel("examples/s (1 thread)")
    ax.set_ylim(bottom=0)
    ax.set_title("Model throughput per example")
    ax.grid(alpha=0.3)
    _save(fig, path)


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    tmp.replace(path)
