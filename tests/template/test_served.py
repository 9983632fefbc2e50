"""Every API of every cortex*.yaml, served by `make serve`'s runtime with the project's
predictor.py and model: over HTTP it answers what the predictor answers in-process, passes
scripts/predict.sh and scripts/smoke.sh, and keeps the bad-input contract.

cortex-gpu.yaml runs on the CPU here (compute.gpu reserves nothing locally).
"""

# Local stack only: served by the local runtime (cortex_tools.runtime, Python 3.10+);
# the image stack's answers to the project's payloads are make check's.

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cortex_tools.expected import expected_path
from tests.conftest import ROOT
from tests.template.answers import plain_answer, same_answer
from tests.template.conftest import API_IDS, PAYLOADS, SPECS
from tests.template.derived import bad_payloads
from tests.tools import hostile
from tests.tools.serve_helpers import Server, run_script, running


@pytest.fixture(scope="module")
def servers():
    """API name -> a ready server, all started side by side."""
    apis = {spec.name: Server(spec.config_path, "--api", spec.name) for spec in SPECS}
    with running(apis, timeout=300) as started:
        yield started


@pytest.mark.parametrize("spec", SPECS, ids=API_IDS)
def test_served_answers_equal_the_in_process_answers(servers, predictors, spec):
    server = servers[spec.name]
    assert (f"serving API {spec.name}: threads_per_worker={spec.threads_per_worker} "
            f"workers_per_replica={spec.workers_per_replica} strategy={spec.strategy} "
            f"at {server.url}") in server.lines
    predictor = predictors(spec)
    for payload in PAYLOADS:
        response = requests.post(server.url, json=payload.value, timeout=60)
        assert response.status_code == 200, response.text
        assert same_answer(response.json(), plain_answer(predictor.predict(payload.value)),
                           tolerant=True)

    predicted = run_script("predict.sh", server.url)
    assert predicted.returncode == 0, predicted.stderr
    assert same_answer(json.loads(predicted.stdout),
                       plain_answer(predictor.predict(PAYLOADS[0].value)), tolerant=True)


@pytest.mark.parametrize("spec", SPECS, ids=API_IDS)
def test_served_api_passes_the_smoke_test(servers, spec):
    server = servers[spec.name]
    smoke = run_script("smoke.sh", server.url)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert smoke.stdout.splitlines()[-1] == "4 passed, 0 failed"
    assert "Traceback" not in server.output


@pytest.mark.parametrize("case", bad_payloads(PAYLOADS[0].value), ids=lambda c: c.id)
def test_a_bad_payload_over_http_gets_a_json_4xx_naming_the_problem(servers, case):
    url = servers[SPECS[0].name].url
    body = json.dumps(case.payload)  # NaN and Infinity as Python's json writes them
    response = requests.post(url, data=body, headers={"Content-Type": "application/json"},
                             timeout=60)
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert (case.field or "object") in (error if case.field else error.lower())
    assert requests.post(url, json=PAYLOADS[0].value, timeout=60).status_code == 200


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.name)
def test_an_expected_answer_file_matches_what_the_api_answers(predictors, payload):
    """smoke.sh compares with NAME.expected.json when there is one (`make expected` writes
    it): it must say what the predictor answers now."""
    path = expected_path(ROOT / payload.name)
    if not path.is_file():
        pytest.skip(f"no {path.name}: smoke.sh checks for a 2xx JSON answer only")
    answer = plain_answer(predictors(SPECS[0]).predict(payload.value))
    assert same_answer(json.loads(path.read_text()), answer, tolerant=True), (
        f"{path.name} is stale: run `make expected`")



# --- fuzzed over HTTP: the project's predictor behind the runtime -----------------------------

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=st.one_of(hostile.json_texts(), hostile.raw_bodies()),
       content_type=hostile.content_types())
def test_any_body_gets_an_answer_or_a_bounded_json_4xx(servers, body, content_type):
    url = servers[SPECS[0].name].url
    response = requests.post(url, data=body, headers={"Content-Type": content_type},
                             timeout=60)
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        assert len(response.content) <= 2000
        assert isinstance(response.json()["error"], str)
    valid = requests.post(url, json=PAYLOADS[0].value, timeout=60)
    assert valid.status_code == 200
