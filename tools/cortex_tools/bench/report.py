"""report.md from an analyzed summary: first the screen a user acts on (what to set, the
targets, the key figures), then the tables behind it. `make bench` prints that screen.
"""

from __future__ import annotations

from typing import Any

from cortex_tools.bench.analysis import mean_batch, run_label
from cortex_tools.bench.setting import BATCH_INTERVAL

TABLES = "## Sweep"  # the first heading after the one-screen summary


def us(ns: float) -> str:
    return f"{ns:.0f} ns" if abs(ns) < 1000 else f"{ns / 1000:.1f} µs"


def table(header: list[str], rows: list[list[Any]]) -> str:
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                      *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)])


def render(s: dict[str, Any]) -> str:
    return "\n\n".join([*summary_screen(s), *tables(s)]) + "\n"


def one_screen(s: dict[str, Any]) -> str:
    return render(s).split(TABLES)[0].rstrip()


def summary_screen(s: dict[str, Any]) -> list[str]:
    api, pick, ratios, m = s["api"], s["pick"], s["ratios"], s["machine"]
    best = next(r for r in s["sweep"] if r["key"] == pick["key"])
    bound = f"p99 <= {s['p99_bound_ms']:g} ms at {s['connections']} connections"
    found = (f"**{best['key']}**: " + (
        f"the fastest with {bound} and 0 errors ({pick['eligible']} of {len(s['sweep'])} "
        "settings qualify)" if pick["within_bound"] else
        f"**no setting meets {bound}**; this one has the lowest p99 without errors") +
        f": {best['rps']:.0f} req/s, p50 {best['p50_ms']:.1f} ms, p99 {best['p99_ms']:.1f} ms")
    if ratios["current_key"]:
        found += f"; {ratios['best_over_current']}x your API as configured " \
                 f"({ratios['current_key']})"
    if "runner_up" in pick:
        other = next(r for r in s["sweep"] if r["key"] == pick["runner_up"])
        found += (f". Runner-up: {other['key']}, {other['rps']:.0f} req/s, p99 "
                  f"{other['p99_ms']:.1f} ms")
        if pick["within_bound"] and pick["runner_up_ratio"] < 1.05:
            found += " (within this machine's noise: either will do)"
    targets = [[t["name"], t["measured"] + (f"; why: {t['why']}" if t.get("why") else ""),
                verdict(t)] for t in s["targets"]]
    return [f"# make bench: API `{api['name']}` of {api['config']}",
            f"{s['plan']} plan, {s['started_at']}, {s['duration_s']:.0f} s, {m['cores']} cores "
            f"({m['cpu_model']}); `{s['command']}`",
            "## What to set", found + ".", floors_line(s, best["rps"]),
            "Paste into the API's entry in its config (merging with the keys it has):",
            f"```yaml\n{s['recommendation']['line']}\n```",
            *(["\n".join(f"- {n}." for n in notes)] if (notes := s["recommendation"]["notes"])
              else []),
            "## Targets", table([TARGET_COLUMN, "measured", ""], targets),
            "## Key figures", "\n".join(key_figures(s))]


# A MISS is about tf_session.py on this machine; read as the user's API's, it misleads.
TARGET_COLUMN = "the template's own target (a MISS is the template's, not your API's)"


def floors_line(s: dict[str, Any], best_rps: float) -> str:
    """What the served figures are: the project's runtime's, against what Cortex's
    serve.py does per request, measured here from the two no-op floors."""
    floors = s.get("floors")
    head = "These req/s are the project's runtime's, an upper bound for a replica"
    if floors is None or not floors.get("factor"):
        why = ("this summary is from before the bench measured them" if floors is None else
               floors.get("missing") or "the Cortex-like server answered nothing")
        return f"{head}: how much faster than Cortex's serve.py was not measured ({why})."
    f, here, there = floors["factor"], floors["runtime"]["rps"], floors["cortex"]["rps"]
    extra_us = 1e6 / there - 1e6 / here  # what serve.py adds to a request's time
    return (f"{head}: serving a predictor that does nothing, the runtime answers {here:.0f} "
            f"req/s and a Cortex 0.17.1-like serve.py on the image stack {there:.0f} req/s "
            f"({floors['threads']} threads, {floors['connections']} connections): **the "
            f"runtime serves {f:g}x as fast as a replica would**. serve.py adds about "
            f"{extra_us:.0f} µs to each request: this setting would serve about "
            f"{replica_estimate(best_rps, here, there):.0f} req/s on a replica (an estimate; "
            "the settings compare among themselves alike).")


def replica_estimate(rps: float, runtime_floor: float, cortex_floor: float) -> float:
    """A setting's req/s with serve.py's extra time per request (the difference of the
    no-op floors' times per request) added to its own."""
    return 1 / (1 / rps + 1 / cortex_floor - 1 / runtime_floor)


def verdict(target: dict[str, Any]) -> str:
    if not target.get("applies", True):
        return "does not apply"
    return {True: "PASS", False: "**MISS**", None: "not measured"}[target["holds"]]


def key_figures(s: dict[str, Any]) -> list[str]:
    inproc, ratios, seed = s["inprocess"], s["ratios"], s.get("seed_page")
    one = inproc["rate"]["1"]
    more = "".join(f", {r['calls_per_s']:.0f} at {t} threads" for t, r in inproc["rate"].items()
                   if t != "1")
    lines = [f"- Model in-process: predict(sample.json) {one['calls_per_s']:.0f} calls/s on 1 "
             f"thread ({one['us_per_call']:.0f} µs a call, {one['cpu_us_per_call']:.0f} µs CPU)"
             f"{more}; served, the recommended setting answers "
             f"{100 * ratios['best_over_inprocess_1_thread']:.0f}% of the 1-thread rate."]
    served = None
    if ratios["once_over_per_request_served"]:
        low, mid, high = ratios["once_over_per_request_served"]
        spread = f"{low}x" if low == high else f"{low}-{high}x (median {mid})"
        served = f"once_per_thread / per_request req/s at the same threads and workers: {spread}"
    if seed:
        ns = inproc["strategy_cost"]["ns"]
        lines += [f"- Strategy cost per call: per_request {us(ns['per_request'])}, "
                  f"once_per_thread {us(ns['once_per_thread'])} "
                  f"({seed['per_request_over_once_per_thread']}x less); per_request is "
                  f"{100 * seed['per_request_share_of_predict']:.1f}% of one predict call"
                  + (f"; served, {served}." if served else "."),
                  f"- Seed page: `graph.as_default()` alone costs "
                  f"{us(seed['graph_as_default_ns'])}, {seed['graph_as_default_vs_claim']}x "
                  f"its \"about 0.4 µs\"; its enter-once flag costs {us(ns['instance_flag'])}, "
                  f"{seed['graph_as_default_over_instance_flag']}x less (its \"about 2 orders "
                  "of magnitude\"), but is right only at threads_per_worker 1; "
                  "once_per_thread is right at any."]
    else:
        lines.append("- The predictor holds no tf_session.Model (it drives its model "
                     "itself): tf_session's strategies and batching were not tried on it.")
    if seed and (why := s.get("batching_does_not_apply")):
        lines.append(f"- Batching does not apply to your API: {why}; it was not tried on it "
                     "(the dense model's section shows what it gives a predict that goes "
                     "through Model.predict).")
    if served and not seed:
        lines.append(f"- Served, {served}.")
    lines += [line for line in [image_stack_line(s)] if line]
    soak, o = s["soak"], s["overload"]
    lines.append(f"- Soak ({soak['setting_key']}): {soak['requests']} requests at "
                 f"{soak['connections']} connections in {soak['seconds']:.0f} s, "
                 f"{soak['errors']} errors; worker RSS {soak['rss_growth_mb']:+.1f} MB "
                 f"({soak['rss_growth_pct']:+.2f}%) from after the warm-up to the end" +
                 (" (a worker was replaced meanwhile)" if soak["workers_replaced"] else "") + ".")
    own = "" if o["max_replica_concurrency"] == o["api_max_replica_concurrency"] else \
        (f" (a setting made for this run: 4x the API's own "
         f"{o['api_max_replica_concurrency']} would be more connections than wrk opens)")
    lines.append(f"- Overload: {o['connections']} connections on max_replica_concurrency "
                 f"{o['max_replica_concurrency']}{own}: {100 * o['share_503']:.0f}% answered "
                 f"503, p99 of all answers {o['p99_ms']:.1f} ms, {o['rps']:.0f} req/s of 2xx; "
                 f"right after, {recovered(o['after'])}.")
    return lines


def recovered(after: dict[str, Any]) -> str:
    if after["requests"] == 1:
        return f"a normal request answers {after['status']} in {after['ms']:.1f} ms"
    return (f"the first request answers {after['first_status']}, and "
            + (f"a 2xx comes {after['ms']:.0f} ms later (request {after['requests']}), once "
               "the requests the crowd left in flight are done" if after["status"] < 300 else
               f"none answers 2xx within {after['ms'] / 1000:.0f} s ({after['status']})"))


def tables(s: dict[str, Any]) -> list[str]:
    out = [f"{TABLES} ({s['connections']} connections; a warm-up, then {s['runs']} runs of "
           f"{s['run_s']} s per row, medians)",
           table(["setting", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors", "mean batch",
                  "server CPU µs/req", "wrk CPU µs/req", "runs (req/s)"],
                 [[f"**{r['key']}**" if r["key"] == s["pick"]["key"] else r["key"],
                   f"{r['rps']:.0f}", f"{r['p50_ms']:.2f}", f"{r['p90_ms']:.1f}",
                   f"{r['p99_ms']:.1f}", r["errors"], r["mean_batch"] or "–",
                   f"{r['server_cpu_us']:.0f}", f"{r['wrk_cpu_us']:.0f}",
                   ", ".join(f"{x:.0f}" for x in r["runs_rps"])] for r in s["sweep"]]),
           "Your API's entry with the recommendation applied:",
           f"```yaml\n{s['recommendation']['entry']}\n```", *floors_table(s)]
    for key, title in (("user", f"your API ({s['api']['name']})"),
                       ("heavy", "a generated dense model (16 -> 3 x 2048 -> 4, float32)")):
        if part := s["batching"].get(key):
            out += batching_table(title, part)
    inproc = s["inprocess"]
    out += ["## In-process: the model without HTTP",
            table(["threads", "calls/s", "µs per call (1/rate)", "CPU µs per call"],
                  [[t, f"{r['calls_per_s']:.0f}", f"{r['us_per_call']:.0f}",
                    f"{r['cpu_us_per_call']:.0f}"] for t, r in inproc["rate"].items()])]
    if cost := inproc.get("strategy_cost"):
        labels = {"none": "`fn(sess)`: the no-op itself, the baseline",
                  "graph_as_default": "`with graph.as_default():` alone (the seed page's 0.4 µs)",
                  "instance_flag": "the seed page's instance flag + `sess.__enter__()` once"}
        out += [f"Strategy cost over the bare call of a no-op `fn(sess)` "
                f"({cost['bare_call_ns']:.0f} ns), one non-main thread, median of "
                f"{cost['repeats']} repeats:",
                table(["variant", "cost per call"],
                      [[labels.get(v, f"tf_session `{v}`"), us(ns)]
                       for v, ns in cost["ns"].items()])]
    out += both_stacks(s)
    soak, o = s["soak"], s["overload"]
    out += [f"## Soak and overload ({soak['setting_key']})",
            table(["worker pid", "RSS MB after warm-up", "middle", "end", "growth MB"],
                  [[pid, w["start"], w["middle"], w["end"], f"{w['end'] - w['start']:+.1f}"]
                   for pid, w in soak["rss_mb"].items()]),
            f"Soak: {soak['rps']:.0f} req/s, the worst run's p99 {soak['p99_ms_max']:.1f} ms. "
            f"Overload: statuses {o['statuses']}, socket errors {o['socket_errors'] or 'none'}, "
            f"p50 {o['p50_ms']:.1f} ms.", how(s)]
    return out


def floors_table(s: dict[str, Any]) -> list[str]:
    floors = s.get("floors")
    if not floors or "runtime" not in floors:
        return []
    names = {"runtime": "the project's runtime (`python -m cortex_tools.runtime`, local stack)",
             "cortex": "Cortex 0.17.1-like serve.py (image stack: FastAPI 0.54.1, two "
                       "middlewares, predict on a pool of threads_per_worker)",
             "batched": f"your API batched (batch_interval {BATCH_INTERVAL}, mean batch "
                        f"{mean_batch((floors.get('batched') or {}).get('mean_batch'))}), the "
                        "same Cortex-like serve.py",
             "unbatched": "your API unbatched, the same Cortex-like serve.py"}
    rows = [k for k in ("runtime", "cortex", "batched", "unbatched") if k in floors]
    found = [f"## No-op floors ({floors['threads']} threads, 1 worker, "
             f"{floors['connections']} connections; a predictor that does nothing"
             + (", then your API" if "batched" in floors else "") + ")",
             table(["server", "req/s", "p50 ms", "p99 ms", "errors", "server CPU µs/req"],
                   [[names[k], f"{r['rps']:.0f}", f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.1f}",
                     r["errors"], f"{r['server_cpu_us']:.0f}"]
                    for k, r in ((k, floors[k]) for k in rows)]),
             f"The runtime serves {floors['factor']:g}x as fast: what a request costs outside "
             "predict() on a replica is that much more than here."]
    if "batched" in floors:
        found.append(f"Under the Cortex-like serve.py, your API batched reaches "
                     f"{floors['batched']['over_floor']:g} of the no-op floor and "
                     f"{floors['batched']['over_unbatched']:g}x unbatched: there the event "
                     "loop, not the model, bounds the rate, and every µs predict() holds the "
                     "GIL is taken from it.")
    return found


def stack_labels(s: dict[str, Any]) -> tuple[str, str]:
    m, image = s["machine"], s["image_stack"]
    return (f"local stack (Python {m['python']}, TensorFlow {m.get('tensorflow', '?')})",
            f"image stack (Python {image['python']}, TensorFlow {image['tensorflow']}, "
            f"numpy {image['numpy']})")


def image_stack_line(s: dict[str, Any]) -> str:
    """The key figure of the image's own stack (summaries from before it: nothing)."""
    image = s.get("image_stack")
    if image is None:
        return ""
    if "rate" not in image:
        why = image.get("missing") or image.get("error")
        return f"- The image's own stack was not measured: {why}."
    local, other = s["inprocess"], image
    line = (f"- On the {stack_labels(s)[1]}, where Cortex runs it: predict(sample.json) "
            f"{other['rate']['1']['us_per_call']:.0f} µs a call on 1 thread (local "
            f"{local['rate']['1']['us_per_call']:.0f} µs)")
    if other.get("strategy_cost") and local.get("strategy_cost"):
        ns, here = other["strategy_cost"]["ns"], local["strategy_cost"]["ns"]
        line += (f"; per_request {us(ns['per_request'])} a call (local "
                 f"{us(here['per_request'])}), once_per_thread {us(ns['once_per_thread'])} "
                 f"(local {us(here['once_per_thread'])})")
    return line + "."


def both_stacks(s: dict[str, Any]) -> list[str]:
    """The in-process figures of both stacks side by side."""
    image = s.get("image_stack")
    if image is None or "rate" not in image:
        return [] if image is None else ["## In-process on both stacks", image_stack_line(s)[2:]]
    local, labels = s["inprocess"], stack_labels(s)
    rows = [[f"predict(sample.json), {t} thread{'s' if t != '1' else ''}: µs per call",
             f"{local['rate'][t]['us_per_call']:.0f}" if t in local["rate"] else "–",
             f"{image['rate'][t]['us_per_call']:.0f}"] for t in image["rate"]]
    mine = ((s["batching"].get("user") or {}).get("inprocess") or {}).get("batch_cost")
    theirs = image.get("batch_cost")
    if theirs:
        size = theirs["size"]
        rows += [["one sess.run of the sample's example: µs",
                  f"{mine['us_1']:.0f}" if mine else "–", f"{theirs['us_1']:.0f}"],
                 [f"one sess.run of {size} of them: µs (x one)",
                  f"{mine['us_batch']:.0f} ({mine['ratio']}x)" if mine else "–",
                  f"{theirs['us_batch']:.0f} ({theirs['ratio']}x)"]]
    if own := image.get("own_cost"):
        here = local.get("own_cost")
        label = run_label(own)
        rows += [[f"predict() minus the bare {label} of its example: µs (predict / {label})",
                  f"{here['us_own']:.1f} ({here['us_predict']:.0f} / {here['us_run']:.0f})"
                  if here else "–",
                  f"{own['us_own']:.1f} ({own['us_predict']:.0f} / {own['us_run']:.0f})"]]
        if own.get("us_sess_run"):
            rows += [["sess.run of that example instead (what predict's session callable "
                      "saves): µs", f"{here['us_sess_run']:.0f}" if here and
                      here.get("us_sess_run") else "–", f"{own['us_sess_run']:.0f}"]]
    if image.get("strategy_cost"):
        here = (local.get("strategy_cost") or {}).get("ns", {})
        rows += [[f"`{variant}` cost per call", us(here[variant]) if variant in here else "–",
                  us(ns)] for variant, ns in image["strategy_cost"]["ns"].items()
                 if variant != "none"]
    return ["## In-process on both stacks",
            "The same timing code on each stack, on this machine: Cortex runs the image's.",
            table(["figure", *labels], rows)]


def batching_table(title: str, part: dict[str, Any]) -> list[str]:
    ceiling, sides = part["inprocess"], (("on", "interval 0"), ("wait", BATCH_INTERVAL))
    off, on, cost = ceiling["off"], ceiling["on"], ceiling["batch_cost"]
    t = max(on, key=int)  # the batching threads
    head = ["connections", "off: req/s", "p50 ms", "p99 ms"]
    for _, label in sides:
        head += [f"{label}: req/s", "p50 ms", "p99 ms", "mean batch", "/ off"]
    rows = []
    for r in part["served"]:
        cells = [r["connections"], f"{r['off']['rps']:.0f}", f"{r['off']['p50_ms']:.2f}",
                 f"{r['off']['p99_ms']:.1f}"]
        for side, _ in sides:
            b = r[side]
            cells += [f"{b['rps']:.0f}", f"{b['p50_ms']:.2f}", f"{b['p99_ms']:.1f}",
                      b["mean_batch"] or "–", f"{b['ratio']:.2f}x"]
        rows.append(cells)
    errors = ", ".join(f"{label} {sum(r[side]['errors'] for r in part['served'])}"
                       for side, label in (("off", "off"), *sides))
    alone = (f" The model alone: one sess.run of {cost['size']} examples "
             f"{cost['us_batch']:.0f} µs, of one {cost['us_1']:.0f} µs ({cost['ratio']}x"
             f"{sampled(cost)}): batching can give it at most "
             f"{cost['size'] / cost['ratio']:.1f}x." if cost else "")
    return [f"## Batching: {title}, {t} threads, 1 worker, batch_interval 0 and "
            f"{BATCH_INTERVAL}", table(head, rows),
            f"Errors: {errors}.{alone} In-process (no HTTP): one call "
            f"{off['1']['us_per_call']:.0f} µs on 1 thread; at {t} threads "
            f"{off[t]['calls_per_s']:.0f} calls/s unbatched, {on[t]['calls_per_s']:.0f} "
            f"batched at {BATCH_INTERVAL} (mean batch {mean_batch(ceiling.get('mean_batch'))}"
            f"): {ceiling['ratio']}x."]


def sampled(cost: dict[str, Any]) -> str:
    """How a batch cost was sampled (summaries from before the count: not said)."""
    return (f"; medians of {cost['repeats']} repeats, before and between the served rounds"
            if "repeats" in cost else "")


def how(s: dict[str, Any]) -> str:
    m = s["machine"]
    return "\n".join([
        "## How it was measured",
        f"- {m['cores']} cores ({m['cpu_model']}), {m['platform']}; Python {m['python']}, "
        f"TensorFlow {m['tensorflow']}, uvicorn {m['uvicorn']}, {m['wrk']}; load average "
        f"{m['load_average_start']} at the start, {m.get('load_average_end')} at the end.",
        "- Served: a copy of what `cortex deploy` uploads, with a generated config per "
        "setting, served by the local runtime (`python -m cortex_tools.runtime`, access log "
        "off) on loopback beside wrk (1 thread, POSTs of sample.json); the settings of one "
        "threads x workers take turns in the same rounds. req/s counts 2xx answers only.",
        "- CPU per request: psutil over the runtime's processes; wrk's own from os.wait4. "
        "Mean batch: the workers' `tf_session: server_side_batching ran ...` exit lines.",
        "- In-process: `cortex_tools.project.build(spec)`, then `predict(sample)` in a loop "
        "on N threads; strategy cost: timeit on one non-main thread.",
        "- The machine is shared with other work: compare rows of one run, as ratios; "
        "absolute rates move by 10-30% between runs."])
