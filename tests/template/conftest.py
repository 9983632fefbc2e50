"""The project's own APIs, payloads and predictors: the template tests read nothing else
(cortex*.yaml, predictor.py through Cortex's loading rules, sample.json, samples/*.json),
so they hold for whatever model the project serves."""

from __future__ import annotations

import pytest

from cortex_tools import project
from tests.conftest import ROOT

SPECS = project.api_specs(ROOT)
PAYLOADS = project.payloads(ROOT)
API_IDS = [f"{spec.config_path.name}:{spec.name}" for spec in SPECS]


@pytest.fixture(scope="session")
def predictors():
    """Each API's predictor, built once on this (main) thread, as a Cortex worker does."""
    built = {}

    def get(spec):
        if spec.name not in built:
            built[spec.name] = project.build(spec)
        return built[spec.name]

    return get


def batching(spec) -> bool:
    return bool(spec.predictor_config.get("server_side_batching"))
