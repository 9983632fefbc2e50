"""The template's shipped config variants: one thread and many, both strategies, batching,
CPU and GPU. Part of the example: your own configs need not keep this shape."""

import pytest

from cortex_tools.config_check import check_file


@pytest.mark.parametrize(("name", "gpus"), [("cortex.yaml", 0), ("cortex-gpu.yaml", 1)])
def test_variants_cover_one_and_many_threads_both_strategies_and_batching(root, name, gpus):
    apis = check_file(root / name).apis
    shapes = {(api["autoscaling"]["threads_per_worker"] > 1,
               api["predictor"]["config"]["session_strategy"]) for api in apis}
    assert {(False, "once_per_thread"), (True, "per_request")} <= shapes
    assert any(api["predictor"]["config"].get("server_side_batching") for api in apis)
    for api in apis:
        assert api["compute"]["gpu"] == gpus
        scaling = api["autoscaling"]
        assert scaling["target_replica_concurrency"] == (
            scaling["workers_per_replica"] * scaling["threads_per_worker"])
