"""Every API of both shipped configs, served by `make serve`'s runtime with the real
predictor.py and model/, passes scripts/predict.sh and scripts/smoke.sh.

cortex-gpu.yaml runs on the CPU here (compute.gpu reserves nothing locally).
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.tools.serve_helpers import ROOT, Server, run_script, running

CONFIGS = ("cortex.yaml", "cortex-gpu.yaml")


def shipped_apis() -> list[tuple[str, str, dict]]:
    found = []
    for config in CONFIGS:
        path = ROOT / config
        apis = yaml.safe_load(path.read_text()) if path.is_file() else None
        if not apis:
            found.append((config, "(missing or empty)", {}))
            continue
        found.extend((config, entry["name"], entry) for entry in apis)
    return found


APIS = shipped_apis()


@pytest.fixture(scope="module")
def servers():
    """(config, api) -> a ready server, all started side by side."""
    apis = {(config, name): Server(ROOT / config, "--api", name) for config, name, entry in APIS
            if entry}
    with running(apis, timeout=180) as started:
        yield started


@pytest.mark.parametrize(("config", "name", "entry"), APIS, ids=[f"{c}:{n}" for c, n, _ in APIS])
def test_shipped_api_passes_predict_and_smoke(servers, config, name, entry):
    assert entry, f"{config} is missing or has no API"
    server = servers[(config, name)]
    autoscaling = entry.get("autoscaling", {})
    strategy = entry["predictor"]["config"]["session_strategy"]
    assert (f"serving API {name}: threads_per_worker={autoscaling.get('threads_per_worker', 1)} "
            f"workers_per_replica={autoscaling.get('workers_per_replica', 1)} "
            f"strategy={strategy} at {server.url}") in server.lines

    predicted = run_script("predict.sh", server.url)
    assert predicted.returncode == 0, predicted.stderr
    answer = json.loads(predicted.stdout)
    assert answer["label"] == "setosa"
    assert answer["probabilities"]["setosa"] > 0.5

    smoke = run_script("smoke.sh", server.url)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert smoke.stdout.splitlines()[-1] == "4 passed, 0 failed"
    assert "Traceback" not in server.output
