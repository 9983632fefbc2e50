"""make bench's parsing and analysis, on recorded wrk outputs and made-up rows: no
server, no timing (tests/tools/bench_fixtures/README.md says what was recorded)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cortex_tools.bench import analysis, rounds, soak, sweep, wrk
from cortex_tools.bench.plan import FULL, QUICK
from cortex_tools.bench.server import Server
from cortex_tools.bench.setting import Setting, entry_yaml, paste_line

FIXTURES = Path(__file__).resolve().parent / "bench_fixtures"
ENTRY = {"name": "api", "predictor": {"type": "python", "path": "predictor.py", "config": {
    "model": "model", "session_strategy": "per_request", "inter_op_parallelism_threads": -1,
    "server_side_batching": {"max_batch_size": 2}}},
    "autoscaling": {"threads_per_worker": 2, "target_replica_concurrency": 64}}


def recorded(name: str) -> wrk.Load:
    return wrk.parse((FIXTURES / name).read_text(), connections=4)


def test_a_run_where_every_answer_is_200():
    load = recorded("wrk_ok.txt")
    assert (load.requests, load.ok, load.errors) == (1063, 1063, 0)
    assert load.seconds == pytest.approx(1.001631)
    assert load.rps == pytest.approx(1063 / 1.001631)
    assert (load.p50_ms, load.p99_ms, load.max_ms) == (3.197, 143.039, 158.155)


def test_503s_are_errors_and_not_throughput():
    load = recorded("wrk_overload.txt")
    assert load.statuses == {"200": 1827, "503": 1251}
    assert (load.ok, load.errors) == (1827, 1251)
    assert load.rps == pytest.approx(1827 / 2.008704)
    assert load.as_dict()["errors"] == 1251


def test_socket_errors_count_and_no_result_is_an_error():
    text = (FIXTURES / "wrk_ok.txt").read_text().replace('"timeout": 0', '"timeout": 3')
    assert wrk.parse(text, 4).errors == 3
    with pytest.raises(wrk.WrkError, match="Connection refused"):
        recorded("wrk_refused.txt")


def test_a_row_is_medians_of_its_runs_with_counts_summed():
    ok, crowded = recorded("wrk_ok.txt"), recorded("wrk_overload.txt")
    row = rounds.summarize([ok, crowded, ok], [1.0, 2.0, 1.0])
    assert row["rps"] == round(ok.rps, 1)
    assert row["errors"] == 1251
    assert row["statuses"] == {"200": 2 * 1063 + 1827, "503": 1251}
    assert row["server_cpu_us"] == round(1e6 / 1063, 1)


def test_a_setting_in_the_config_and_as_one_pasteable_line():
    setting = Setting(8, 2, "once_per_thread", 8, max_replica_concurrency=16)
    entry = setting.applied_to(ENTRY)
    assert entry["autoscaling"] == {"threads_per_worker": 8, "target_replica_concurrency": 16,
                                    "workers_per_replica": 2, "max_replica_concurrency": 16}
    config = entry["predictor"]["config"]
    assert config["session_strategy"] == "once_per_thread"
    assert config["server_side_batching"] == {"max_batch_size": 8, "batch_interval": "2ms"}
    waitless = Setting(8, 2, "once_per_thread", 8, interval=0)
    assert waitless.applied_to(ENTRY)["predictor"]["config"]["server_side_batching"] == {
        "max_batch_size": 8, "batch_interval": 0}
    assert waitless.key == setting.key + " interval=0"
    assert config["inter_op_parallelism_threads"] == -1  # the user's own keys stay
    assert ENTRY["autoscaling"]["threads_per_worker"] == 2  # a copy
    assert "server_side_batching" not in Setting(4, 1, "per_request").applied_to(
        ENTRY)["predictor"]["config"]
    line = paste_line(Setting(4, 2, "once_per_thread"))
    assert "\n" not in line
    assert yaml.safe_load(line) == {
        "autoscaling": {"threads_per_worker": 4, "workers_per_replica": 2},
        "predictor": {"config": {"session_strategy": "once_per_thread"}}}
    assert yaml.safe_load(entry_yaml(ENTRY, Setting(1, 1)))[0]["name"] == "api"


def test_the_plans_sweep_groups():
    full = sweep.groups(FULL, ("per_request", "once_per_thread"), batching=True)
    assert len(full) == 8 and sum(map(len, full)) == 24
    assert {s.batch for g in full for s in g if s.threads == 8} == {None, 8}
    assert [s.key for s in sweep.groups(QUICK, ("a", "b"), batching=True)[0]] == [
        "a t=4 w=1", "b t=4 w=1"]
    assert [s.key for g in sweep.groups(FULL, (None,), batching=False) for s in g][0] == \
        "own strategy t=1 w=1"


def row(key: str, rps: float, p99: float, errors: int = 0, **setting) -> dict:
    return {"key": key, "rps": rps, "p99_ms": p99, "errors": errors,
            "setting": {"threads": 1, "workers": 1, "strategy": "per_request", **setting}}


def test_the_pick_is_the_fastest_within_the_bound_without_errors():
    rows = [row("a", 900, 60), row("b", 800, 40), row("c", 700, 30), row("d", 990, 20, 5)]
    assert analysis.pick(rows, 50) == {"key": "b", "within_bound": True, "eligible": 2,
                                       "runner_up": "c", "runner_up_ratio": 1.143}
    assert analysis.pick(rows, 10)["key"] == "c"  # none within: the lowest p99
    assert not analysis.pick(rows, 10)["within_bound"]


def test_strategy_ratios_pair_rows_of_the_same_threads_and_workers():
    rows = [row("per_request t=1 w=1", 100, 1), row("once_per_thread t=1 w=1", 110, 1,
                                                    strategy="once_per_thread")]
    assert analysis.strategy_ratios(rows) == [1.1]


def batched(off: float, on: float, p50_delta: float) -> dict:
    return {"rps": on, "errors": 0, "p50_ms": 1.0 + p50_delta, "server_cpu_us": 600,
            "mean_batch": 3.0, "ratio": round(on / off, 2), "p50_delta_ms": p50_delta}


def batching_row(connections: int, off: float, wait: float, p50_delta: float = 0.0,
                 on: float | None = None) -> dict:
    """A row of bench.batching.run: off, and the batched sides at interval 0 (on) and at
    BATCH_INTERVAL (wait)."""
    return {"connections": connections,
            "off": {"rps": off, "errors": 0, "p50_ms": 1.0, "server_cpu_us": 900},
            "on": batched(off, on or wait, p50_delta), "wait": batched(off, wait, p50_delta)}


def test_batching_targets_hold_miss_or_are_not_measured():
    ceiling = {"ratio": 2.0, "mean_batch": 4.0, "on": {"8": {"calls_per_s": 300}},
               "off": {"1": {"calls_per_s": 100}, "8": {"calls_per_s": 150}},
               "batch_cost": {"size": 8, "us_1": 100.0, "us_batch": 250.0, "ratio": 2.5}}
    user = {"served": [batching_row(1, 100, 100, 0.1), batching_row(64, 100, 160, on=120)],
            "inprocess": ceiling}
    # The dense model's run is most of c (900 µs): bound 900 / (900 - 800 + 2000 / 8) =
    # 2.57x, target 2.06x; 2.00x served misses it.
    heavy_ceiling = {**ceiling, "batch_cost": {"size": 8, "us_1": 800.0, "us_batch": 2000.0,
                                               "ratio": 2.5}}
    heavy = {"served": [batching_row(64, 100, 200)], "inprocess": heavy_ceiling}
    found = analysis.batching_targets({"user": user, "heavy": heavy})
    assert [t["holds"] for t in found] == [True, False, True]
    assert "0.8 x the Amdahl bound c / (c - m + cost(B)/B)" in found[0]["name"]
    assert found[0]["measured"].startswith("1.60x (160 vs 100 req/s")  # the 2ms side
    assert "batch_interval 0: 1.20x" in found[0]["measured"]
    # 900 / (900 - 100 + 250 / 8) = 1.08x, target 0.87x
    assert "bound 1.08x, target 0.87x (c 900 µs, m 100 µs, cost(8) 250 µs)" in \
        found[0]["measured"]
    assert "bound 2.57x, target 2.06x" in found[1]["measured"]
    why = found[1]["why"]
    assert "costs 2.5x" in why and "at most 3.2x" in why  # 8 examples / 2.5
    assert "2.0x" in why and "8 unbatched threads make 1.5x" in why and "900 to 600" in why
    assert found[1]["measured"].startswith("2.00x (200 vs 100 req/s")
    assert [t["holds"] for t in analysis.batching_targets({"user": None, "heavy": heavy})] == [
        None, False, None]
    # Below the bound (2.57x) but above 0.8 of it (2.06x): the target holds.
    between = {**heavy, "served": [batching_row(64, 100, 230)]}
    assert analysis.batching_targets({"user": None, "heavy": between})[1]["holds"] is True
    # The model's CPU, where measured, stands for m and cost(B) (c is the server's CPU):
    # 900 / (900 - 400 + 1200 / 8) = 1.38x, target 1.11x; 1.20x served holds.
    cpu = {**heavy, "served": [batching_row(64, 100, 120)], "inprocess": {
        **heavy_ceiling, "batch_cost": {**heavy_ceiling["batch_cost"], "cpu_us_1": 400.0,
                                        "cpu_us_batch": 1200.0}}}
    target = analysis.batching_targets({"user": None, "heavy": cpu})[1]
    assert target["holds"] is True
    assert "bound 1.38x, target 1.11x (c 900 µs, m 400 µs CPU, cost(8) 1200 µs CPU)" in \
        target["measured"]
    slow = {"served": [batching_row(1, 100, 100, 0.3)], "inprocess": ceiling}
    assert analysis.batching_targets({"user": slow, "heavy": None})[2]["holds"] is False
    # Without the model's own cost there is no bound to judge by: not measured, and said.
    unknown_cost = {**heavy, "inprocess": {**ceiling, "batch_cost": None}}
    target = analysis.batching_targets({"user": None, "heavy": unknown_cost})[1]
    assert target["holds"] is None and "why" not in target
    assert target["measured"].endswith("no bound: one sess.run's cost was not measured")
    above = {**heavy, "inprocess": {**ceiling, "batch_cost": {
        "size": 8, "us_1": 1100.0, "us_batch": 1200.0, "ratio": 1.09}}}
    target = analysis.batching_targets({"user": None, "heavy": above})[1]
    assert target["holds"] is None
    assert target["measured"].endswith("no bound: m (1100 µs) came out above c (900 µs)")


def own_figures(us_own: float, once: float, per_request: float) -> dict:
    return {"rate": {"1": {"us_per_call": 300}},
            "own_cost": {"us_own": us_own, "us_predict": 200 + us_own, "us_run": 200},
            "strategy_cost": {"ns": {"none": 0, "per_request": per_request,
                                     "once_per_thread": once}}}


def test_own_cost_targets_read_the_image_stack_where_it_was_measured():
    summary = {"image_stack": own_figures(42.0, 150.0, 16_000.0),
               "inprocess": own_figures(10.0, 50.0, 8_000.0)}
    found = analysis.own_cost_targets(summary)
    assert [t["holds"] for t in found] == [True, False, True]
    assert all("(image stack)" in t["name"] for t in found)
    assert found[0]["name"].endswith("<= 50 µs")
    assert found[0]["measured"] == "42.0 µs (predict 242 µs, sess.run 200 µs)"  # older
    summary["image_stack"]["own_cost"]["us_sess_run"] = 80.0  # what the callable replaces
    found = analysis.own_cost_targets(summary)
    assert found[0]["name"].startswith("predict() minus the bare run of its example")
    assert found[0]["measured"] == "42.0 µs (predict 242 µs, the run 200 µs, sess.run 80 µs)"
    assert found[1]["name"].endswith("<= 100 ns") and found[1]["measured"] == "150 ns"
    assert found[2]["name"].endswith(">= 20x")
    assert found[2]["measured"] == "107x (16.0 µs vs 150 ns)"
    summary["image_stack"] = own_figures(51.0, 100.0, 1_900.0)
    assert [t["holds"] for t in analysis.own_cost_targets(summary)] == [False, True, False]


def test_own_cost_targets_fall_back_to_the_local_stack_and_say_so():
    summary = {"image_stack": {"missing": "no Python 3.6 here"},
               "inprocess": own_figures(10.0, 50.0, 8_000.0)}
    found = analysis.own_cost_targets(summary)
    assert [t["holds"] for t in found] == [True, True, True]
    assert all("(local stack: the image stack was not measured (no Python 3.6 here))"
               in t["name"] for t in found)
    # Summaries from before these figures: not measured, nothing invented.
    old = {"inprocess": {"rate": {}, "strategy_cost": {"ns": {"per_request": 9000.0}}}}
    assert [t["holds"] for t in analysis.own_cost_targets(old)] == [None, None, None]


def test_batching_targets_of_a_predictor_that_cannot_batch_do_not_apply():
    ceiling = {"ratio": 2.0, "mean_batch": None, "on": {"8": {"calls_per_s": 300}},
               "off": {"1": {"calls_per_s": 100}, "8": {"calls_per_s": 150}},
               "batch_cost": {"size": 8, "us_1": 100.0, "us_batch": 250.0, "ratio": 2.5}}
    heavy = {"served": [batching_row(64, 100, 300)], "inprocess": ceiling}
    found = analysis.batching_targets({"user": None, "heavy": heavy}, "the reason")
    assert [(t.get("applies", True), t["holds"], t["measured"]) for t in found[::2]] == [
        (False, None, "the reason"), (False, None, "the reason")]
    # The dense model's target applies: 3.00x against a bound of 1.08x
    assert found[1]["holds"] is True and "applies" not in found[1]
    inproc = {"strategies": ["per_request", "once_per_thread"]}
    assert analysis.batching_does_not_apply({"inprocess": {**inproc,
                                                           "model_use": "predict"}}) is None
    assert analysis.batching_does_not_apply({"inprocess": inproc}) is None  # older summaries
    why = analysis.batching_does_not_apply({"inprocess": {**inproc,
                                                          "model_use": "run_with_defaults"}})
    assert why == ("predict drives the session itself through model.run_with_defaults, not "
                   "Model.predict, so no request joins a batch")
    assert "holds no tf_session.Model" in analysis.batching_does_not_apply({"inprocess": {}})
    assert analysis.mean_batch(None) == analysis.mean_batch(0.0) == "none (no batch ran)"
    assert analysis.mean_batch(7.65) == "7.65"


def test_the_seed_page_figures():
    cost = {"ns": {"none": 0, "per_request": 10_000, "once_per_thread": 100,
                   "graph_as_default": 8_000, "instance_flag": 40}}
    found = analysis.seed_page(cost, predict_us=250)
    assert found["graph_as_default_vs_claim"] == 20.0
    assert found["per_request_over_once_per_thread"] == 100.0
    assert found["graph_as_default_over_instance_flag"] == 200.0
    assert found["per_request_share_of_predict"] == 0.04
    assert analysis.seed_page(None, 250) is None


def test_rss_growth_from_after_the_warm_up():
    samples = [{"1": 500.0, "2": 400.0}, {"1": 501.0, "2": 400.0}, {"1": 505.0, "2": 401.0}]
    found = soak.rss_growth(samples)
    assert found["rss_mb"]["1"] == {"start": 500.0, "middle": 501.0, "end": 505.0}
    assert (found["rss_growth_mb"], found["rss_growth_pct"]) == (5.0, 1.0)
    assert not found["workers_replaced"]
    assert soak.rss_growth([{"1": 1.0}, {"3": 1.0}])["workers_replaced"]


def test_overload_uses_the_apis_limit_when_wrk_can_reach_4x_it():
    assert soak.overload_limit(64) == 64
    assert soak.overload_limit(1024) == soak.GENERATED_LIMIT


def test_mean_batch_from_the_workers_exit_lines():
    server = Server(Path("cortex.yaml"), "api", "test")
    assert server.mean_batch() is None
    server.batch_lines = [
        "tf_session: server_side_batching ran 101 requests in 31 batches (mean 3.26, ...)",
        "tf_session: server_side_batching ran 100 requests in 30 batches (mean 3.33, ...)"]
    assert server.mean_batch() == round(200 / 60, 2)  # less the sample sent alone
    assert server.mean_batch(alone=20) == round(180 / 40, 2)


def test_notes_on_the_keys_the_recommendation_bears_on():
    found = analysis.notes({**ENTRY, "compute": {"cpu": "500m"}}, Setting(4, 2), cores=2)
    assert "target_replica_concurrency is 64" in found[0] and ", 8 here" in found[0]
    assert "compute.cpu is 500m" in found[1]
    assert analysis.notes({"autoscaling": {}, "compute": {"cpu": 2}}, Setting(4, 2), 2) == []


def floors_with(batched_rps: float, unbatched_rps: float, errors: int = 0) -> dict:
    """The no-op floors and the user's API through the Cortex-like server, made up: a
    no-op floor of 1000 req/s."""
    def row(rps: float, errors: int = 0) -> dict:
        return {"rps": rps, "errors": errors, "server_cpu_us": 1e6 / rps}

    batched = {**row(batched_rps, errors), "mean_batch": 5.5,
               "over_floor": round(batched_rps / 1000, 2),
               "over_unbatched": round(batched_rps / unbatched_rps, 2)}
    return {"threads": 8, "connections": 32, "runtime": row(4000), "cortex": row(1000),
            "factor": 4.0, "batched": batched, "unbatched": row(unbatched_rps)}


@pytest.mark.parametrize(("batched", "unbatched", "errors", "holds"), [
    (800, 600, 0, True),  # 0.80 of the floor, 1.33x unbatched
    (790, 600, 0, False),  # 0.79 of the floor
    (800, 620, 0, False),  # 1.29x unbatched
    (900, 600, 1, False),  # an error
])
def test_the_target_under_the_cortex_like_server(batched, unbatched, errors, holds):
    target = analysis.replica_target(floors_with(batched, unbatched, errors))
    assert target["holds"] is holds
    assert target["name"].startswith("your API under the Cortex-like serve.py (image stack), "
                                     "8 threads, 32 connections")
    assert target["measured"].startswith(
        f"{batched / 1000:.2f} of the floor ({batched} vs 1000 req/s), "
        f"{round(batched / unbatched, 2):.2f}x unbatched ({unbatched} req/s), mean batch 5.5, "
        f"{errors} errors")


def test_the_target_under_the_cortex_like_server_unmeasured_or_not_applicable():
    missing = analysis.replica_target({"missing": "image stack: not set up here"})
    assert missing["holds"] is None
    assert missing["measured"] == "not measured: image stack: not set up here"
    no_api = analysis.replica_target({k: v for k, v in floors_with(800, 600).items()
                                      if k not in ("batched", "unbatched")})
    assert no_api["holds"] is None and no_api["measured"] == "not measured"
    why = "predict calls model.run itself, not Model.predict, so no request joins a batch"
    target = analysis.replica_target(floors_with(800, 600), why)
    assert target["applies"] is False and target["measured"] == why
