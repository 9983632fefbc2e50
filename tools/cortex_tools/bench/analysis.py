"""From measured figures to answers: the setting to recommend, the targets, the ratios.

Pure functions of summary.json's measured parts, so that ``--rewrite`` answers again
without measuring. Speed claims are ratios of rows measured in the same rounds.
"""

from __future__ import annotations

import statistics
from typing import Any

from cortex_tools.bench import amdahl
from cortex_tools.bench.setting import BATCH_INTERVAL, Setting, entry_yaml, paste_line

SEED_PAGE_AS_DEFAULT_NS = 400.0  # "about 0.4 microseconds"
TARGET_CONNECTIONS = 64
MAX_P50_DELTA_MS = 0.2  # batching on at 1 connection (batch_interval 0) against off
# The template's own cost, on the image stack (issue 20's targets): predict() less the
# bare run of its example (the session callable predict runs), 1 thread; once_per_thread
# over a bare call, and per_request against it.
MAX_OWN_US = 50.0
MAX_ONCE_NS = 100.0
MIN_PER_REQUEST_OVER_ONCE = 20.0
# Your API batched through the Cortex-like serve.py (bench/floors.py): against the no-op
# floor there and against the same API unbatched, in the same rounds.
MIN_REPLICA_FLOOR_SHARE = 0.8
MIN_REPLICA_OVER_UNBATCHED = 1.3


def setting_of(row: dict[str, Any]) -> Setting:
    return Setting(**row["setting"])


def pick(rows: list[dict[str, Any]], p99_ms: float) -> dict[str, Any]:
    """The fastest row without errors within the p99 bound; when none is within it, the
    one with the lowest p99 (and it says so)."""
    clean = [r for r in rows if r["errors"] == 0] or rows
    eligible = sorted((r for r in clean if r["p99_ms"] <= p99_ms), key=lambda r: -r["rps"])
    ranked = eligible or sorted(clean, key=lambda r: r["p99_ms"])
    found = {"key": ranked[0]["key"], "within_bound": bool(eligible), "eligible": len(eligible)}
    if len(ranked) > 1:
        found["runner_up"] = ranked[1]["key"]
        found["runner_up_ratio"] = round(ranked[0]["rps"] / max(ranked[1]["rps"], 0.1), 3)
    return found


def row_named(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(r for r in rows if r["key"] == key)


def at(rows: list[dict[str, Any]], connections: int) -> dict[str, Any] | None:
    return next((r for r in rows if r["connections"] == connections), None)


# How predict(sample.json) reaches tf_session's Model when not through Model.predict
# (bench.inprocess.model_use), in words.
MODEL_USE_WORDS = {
    "run_with_defaults": "predict drives the session itself through model.run_with_defaults",
    "run": "predict calls model.run itself",
    "evaluate": "predict calls model.evaluate itself",
    None: "predict runs the model's session itself (none of tf_session's Model methods)",
}


def batching_does_not_apply(summary: dict[str, Any]) -> str | None:
    """Why server_side_batching cannot batch the user's API (so its targets do not
    apply), or None when it can: only a predict that goes through Model.predict batches."""
    inproc = summary["inprocess"]
    if "strategies" not in inproc:
        return ("the predictor holds no tf_session.Model (it drives TensorFlow itself), so "
                "tf_session's server_side_batching never sees its requests")
    use = inproc.get("model_use", "predict")  # summaries from before model_use: batched
    if use == "predict":
        return None
    return f"{MODEL_USE_WORDS.get(use, MODEL_USE_WORDS[None])}, not Model.predict, so no " \
           "request joins a batch"


def mean_batch(value: float | None) -> str:
    """A mean batch size as the report shows it: none when no batch ran."""
    return str(value) if value else "none (no batch ran)"


def batching_targets(batching: dict[str, Any],
                     not_applicable: str | None = None) -> list[dict[str, Any]]:
    """The three batching targets: what each asks, the numbers, holds/misses (None: not
    measured, or, with `applies` False, not applicable to a predictor that cannot batch,
    `not_applicable` saying why) and, if missed, why. The throughput targets are relative
    to what batching can give at all (amdahl.bound, printed beside) and read at
    BATCH_INTERVAL (the bundled batched APIs' setting), with batch_interval 0's figure
    beside; the latency target at batch_interval 0."""
    found = []
    for key, what in (("user", "your API"), ("heavy", "the dense model")):
        part = batching.get(key) or {}
        row = at(part.get("served", []), TARGET_CONNECTIONS)
        target = {"name": f"{what}, 8 threads, {TARGET_CONNECTIONS} connections, "
                          f"batch_interval {BATCH_INTERVAL}: batched/unbatched req/s >= "
                          f"{amdahl.TARGET_SHARE:g} x the Amdahl bound c / (c - m + cost(B)/B), "
                          "0 errors", "holds": None, "measured": "not measured"}
        if key == "user" and not_applicable:
            target.update(applies=False, measured=not_applicable)
        elif row:
            wait, on = row["wait"], row["on"]
            errors = wait["errors"] + row["off"]["errors"]
            cost, c = (part.get("inprocess") or {}).get("batch_cost"), row["off"]["server_cpu_us"]
            # The model's CPU where measured (as c is the server's CPU), else its wall time.
            m, batch_us = (cost.get("cpu_us_1", cost["us_1"]),
                           cost.get("cpu_us_batch", cost["us_batch"])) if cost else (0, 0)
            kind = " CPU" if cost and "cpu_us_1" in cost else ""
            limit = cost and amdahl.bound(c, m, batch_us, cost["size"])
            measured = (f"{wait['ratio']:.2f}x ({wait['rps']:.0f} vs {row['off']['rps']:.0f} "
                        f"req/s, mean batch {mean_batch(wait['mean_batch'])}), {errors} errors; "
                        f"batch_interval 0: {on['ratio']:.2f}x (mean batch "
                        f"{mean_batch(on['mean_batch'])})")
            if limit:
                share = amdahl.target(c, m, batch_us, cost["size"])
                target.update(holds=wait["ratio"] >= share and errors == 0, measured=(
                    f"{measured}; bound {limit:.2f}x, target {share:.2f}x (c {c:.0f} µs, m "
                    f"{m:.0f} µs{kind}, cost({cost['size']}) {batch_us:.0f} µs{kind})"))
                if not target["holds"]:
                    target["why"] = why_short(part["inprocess"], row)
            else:
                target["measured"] = f"{measured}; no bound: " + (
                    "one sess.run's cost was not measured" if not cost else
                    f"m ({m:.0f} µs{kind}) came out above c ({c:.0f} µs)")
        found.append(target)
    row = at((batching.get("user") or {}).get("served", []), 1)
    target = {"name": f"your API, 1 connection, batch_interval 0: batched p50 within "
                      f"{MAX_P50_DELTA_MS} ms of unbatched", "holds": None,
              "measured": "not measured"}
    if not_applicable:
        target.update(applies=False, measured=not_applicable)
    elif row:
        on = row["on"]
        target.update(holds=on["p50_delta_ms"] <= MAX_P50_DELTA_MS, measured=(
            f"{on['p50_delta_ms']:+.3f} ms ({on['p50_ms']:.3f} vs {row['off']['p50_ms']:.3f} "
            f"ms); batch_interval {BATCH_INTERVAL}: {row['wait']['p50_delta_ms']:+.3f} ms"))
    return [*found, target]


def replica_target(floors: dict[str, Any] | None,
                   not_applicable: str | None = None) -> dict[str, Any]:
    """Your API batched under the Cortex-like serve.py on the image stack: its share of the
    no-op floor there, and its gain over unbatched."""
    target = {"name": f"your API under the Cortex-like serve.py (image stack), batch_interval "
                      f"{BATCH_INTERVAL}: batched req/s >= {MIN_REPLICA_FLOOR_SHARE:g} x the "
                      f"no-op floor there and >= {MIN_REPLICA_OVER_UNBATCHED:g}x unbatched, "
                      "0 errors", "holds": None, "measured": "not measured"}
    floors = floors or {}
    if not_applicable:
        target.update(applies=False, measured=not_applicable)
    elif "missing" in floors:
        target["measured"] = f"not measured: {floors['missing']}"
    elif (batched := floors.get("batched")) and batched.get("over_floor") is not None:
        unbatched, errors = floors["unbatched"], batched["errors"] + floors["unbatched"]["errors"]
        target["name"] = target["name"].replace(
            "(image stack)", f"(image stack), {floors['threads']} threads, "
                             f"{floors['connections']} connections")
        over_unbatched = batched.get("over_unbatched") or 0.0
        target.update(holds=(batched["over_floor"] >= MIN_REPLICA_FLOOR_SHARE and
                             over_unbatched >= MIN_REPLICA_OVER_UNBATCHED and errors == 0),
                      measured=(f"{batched['over_floor']:.2f} of the floor ({batched['rps']:.0f} "
                                f"vs {floors['cortex']['rps']:.0f} req/s), {over_unbatched:.2f}x "
                                f"unbatched ({unbatched['rps']:.0f} req/s), mean batch "
                                f"{mean_batch(batched.get('mean_batch'))}, {errors} errors; "
                                f"server CPU per request: batched {batched['server_cpu_us']:.0f} "
                                f"µs, unbatched {unbatched['server_cpu_us']:.0f} µs, no-op "
                                f"{floors['cortex']['server_cpu_us']:.0f} µs"))
    return target


def run_label(own: dict[str, Any] | None) -> str:
    """What own_cost's bare run was: "run" (predict's session callable, with sess.run
    measured beside it) or, in summaries from before tf_session ran a callable, "sess.run"."""
    return "run" if own and own.get("us_sess_run") else "sess.run"


def _sess_run(own):
    """", sess.run X µs" when measured: the call predict's session callable replaces."""
    return f", sess.run {own['us_sess_run']:.0f} µs" if own.get("us_sess_run") else ""


def own_cost_targets(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The template's own cost per request and the enter-once strategy's cost, read on the
    image stack (where Cortex runs the code) when it was measured, else on the local stack
    (and the target says so)."""
    image = summary.get("image_stack") or {}
    on_image = "rate" in image
    figures = image if on_image else summary["inprocess"]
    where = "image stack" if on_image else (
        "local stack: the image stack was not measured"
        + (f" ({why})" if (why := image.get("missing") or image.get("error")) else ""))
    own = figures.get("own_cost")
    ns = (figures.get("strategy_cost") or {}).get("ns", {})
    once, per_request = ns.get("once_per_thread"), ns.get("per_request")
    found = [{"name": f"predict() minus the bare {run_label(own)} of its example, median, "
                      f"1 thread ({where}): <= {MAX_OWN_US:g} µs", "holds": None,
              "measured": "not measured"},
             {"name": f"once_per_thread over a bare call ({where}): <= {MAX_ONCE_NS:g} ns",
              "holds": None, "measured": "not measured"},
             {"name": f"per_request / once_per_thread cost per call ({where}): >= "
                      f"{MIN_PER_REQUEST_OVER_ONCE:g}x", "holds": None,
              "measured": "not measured"}]
    if own:
        label = run_label(own)
        found[0].update(holds=own["us_own"] <= MAX_OWN_US, measured=(
            f"{own['us_own']:.1f} µs (predict {own['us_predict']:.0f} µs, "
            f"{'the run' if label == 'run' else label} {own['us_run']:.0f} µs"
            f"{_sess_run(own)})"))
    if once is not None:
        found[1].update(holds=once <= MAX_ONCE_NS, measured=f"{once:.0f} ns")
    if once is not None and per_request is not None:
        ratio = per_request / once if once > 0 else float("inf")
        found[2].update(holds=ratio >= MIN_PER_REQUEST_OVER_ONCE, measured=(
            f"{ratio:.0f}x ({per_request / 1000:.1f} µs vs {once:.0f} ns)" if once > 0 else
            f"once_per_thread measured at or below the bare call; per_request "
            f"{per_request / 1000:.1f} µs"))
    return found


def why_short(ceiling: dict[str, Any], row: dict[str, Any]) -> str:
    """Why batching gave less than a target asked: the model's own bound first."""
    t = max(ceiling["on"], key=int)  # the batching threads
    cost, wait = ceiling["batch_cost"], row["wait"]
    overlap = ceiling["off"][t]["calls_per_s"] / ceiling["off"]["1"]["calls_per_s"]
    bound = (f"one sess.run of {cost['size']} examples costs {cost['ratio']}x one example's "
             f"({cost['us_batch']:.0f} vs {cost['us_1']:.0f} µs), so even full batches give "
             f"the model at most {cost['size'] / cost['ratio']:.1f}x; " if cost else "")
    return (f"{bound}in-process (no HTTP) "
            f"{t} unbatched threads make {overlap:.1f}x the calls/s of 1, and batching them "
            f"gives {ceiling['ratio']}x (mean batch {mean_batch(ceiling.get('mean_batch'))}); "
            f"served (mean batch {mean_batch(wait['mean_batch'])} of {t}), the server's CPU "
            "per request went "
            f"from {row['off']['server_cpu_us']:.0f} to {wait['server_cpu_us']:.0f} µs: "
            "batching shares the model's part of it, not the HTTP and JSON work")


def seed_page(cost: dict[str, Any] | None, predict_us: float) -> dict[str, Any] | None:
    """The seed page's two claims against the strategy costs (ns over the bare call)."""
    if not cost:
        return None
    ns = cost["ns"]

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 1) if a and b and b > 0 else None

    return {"graph_as_default_ns": ns["graph_as_default"],
            "graph_as_default_vs_claim": ratio(ns["graph_as_default"], SEED_PAGE_AS_DEFAULT_NS),
            "per_request_over_once_per_thread": ratio(ns.get("per_request"),
                                                      ns.get("once_per_thread")),
            "graph_as_default_over_instance_flag": ratio(ns["graph_as_default"],
                                                         ns["instance_flag"]),
            "per_request_share_of_predict": round(ns.get("per_request", 0) / predict_us / 1000, 4)}


def notes(entry: dict[str, Any], best: Setting, cores: int,
          not_batching: str | None = None) -> list[str]:
    """What else in the API's entry the recommendation bears on."""
    found, autoscaling = [], entry.get("autoscaling") or {}
    config = (entry.get("predictor") or {}).get("config") or {}
    if not_batching and best.strategy and config.get("server_side_batching"):
        found.append(f"server_side_batching is set but batches nothing ({not_batching}): "
                     "remove it (the whole entry below has it removed)")
    target, slots = autoscaling.get("target_replica_concurrency"), best.threads * best.workers
    if target is not None and target != slots:
        found.append(f"target_replica_concurrency is {target}: Cortex's default is workers x "
                     f"threads, {slots} here; set it too if yours was meant to follow them")
    cpu = str((entry.get("compute") or {}).get("cpu", cores))  # a quantity: 1, 1.5, 500m
    if (float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)) < cores:
        found.append(f"compute.cpu is {cpu}, and this was measured on {cores} cores: a "
                     "replica given fewer serves less, whatever the setting")
    return found


def strategy_ratios(rows: list[dict[str, Any]]) -> list[float]:
    """once_per_thread / per_request req/s of each pair measured in the same group."""
    by_key = {r["key"]: r for r in rows}
    found = []
    for row in rows:
        s = setting_of(row)
        other = by_key.get(Setting(s.threads, s.workers, "per_request", s.batch).key)
        if s.strategy == "once_per_thread" and other and other["rps"]:
            found.append(round(row["rps"] / other["rps"], 2))
    return found


def analyze(summary: dict[str, Any]) -> None:
    """Adds pick, batching_does_not_apply, recommendation, targets, seed_page and ratios
    to a measured summary."""
    rows, api, rate = summary["sweep"], summary["api"], summary["inprocess"]["rate"]
    summary["pick"] = chosen = pick(rows, summary["p99_bound_ms"])
    best = row_named(rows, chosen["key"])
    summary["batching_does_not_apply"] = not_batching = batching_does_not_apply(summary)
    summary["recommendation"] = {"setting": best["setting"], "line": paste_line(setting_of(best)),
                                 "entry": entry_yaml(api["entry"], setting_of(best)),
                                 "notes": notes(api["entry"], setting_of(best),
                                                summary["machine"]["cores"], not_batching)}
    summary["targets"] = [*own_cost_targets(summary),
                          *batching_targets(summary["batching"], not_batching),
                          replica_target(summary.get("floors"), not_batching)]
    summary["seed_page"] = seed_page(summary["inprocess"].get("strategy_cost"),
                                     rate["1"]["us_per_call"])
    own = Setting(api["threads"], api["workers"], api["strategy"], api["batch"])
    current = next((r for r in rows if setting_of(r) == own), None)
    strategies = strategy_ratios(rows)
    summary["ratios"] = {
        "current_key": current and current["key"],
        "best_over_current": current and round(best["rps"] / max(current["rps"], 0.1), 2),
        "best_over_inprocess_1_thread": round(best["rps"] / rate["1"]["calls_per_s"], 3),
        "once_over_per_request_served": strategies and [
            min(strategies), round(statistics.median(strategies), 2), max(strategies)],
    }
