"""scripts/predict.sh and scripts/smoke.sh (bash and curl) against a real local server.

The server runs stub_iris.py, which answers as the template's predictor.py does (a label
for sample.json, a 400 for anything else) without a model; the real predictor is in
test_serve_end_to_end.py.
"""

from __future__ import annotations

import json
import os
import socket

import pytest

from tests.tools.serve_helpers import (
    FAKE_CORTEX_DIR,
    ROOT,
    Server,
    api,
    run_script,
    stub_iris_apis,
    write_project,
)


@pytest.fixture(scope="module")
def urls(tmp_path_factory):
    """An API that answers setosa for sample.json, and one that answers versicolor."""
    with stub_iris_apis(tmp_path_factory.mktemp("curl")) as apis:
        yield [apis["setosa"], apis["versicolor"]]


@pytest.fixture(scope="module")
def url(urls) -> str:
    return urls[0]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- predict.sh ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "/predict"])
def test_predict_posts_sample_json(url, path):
    result = run_script("predict.sh", url + path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"label": "setosa", "probabilities": {"setosa": 1.0}}


def test_predict_uses_the_templates_sample_json_from_anywhere(url, tmp_path):
    result = run_script("predict.sh", url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["label"] == "setosa"


def test_predict_with_a_payload_file_and_a_non_2xx_answer(url, tmp_path):
    payload = tmp_path / "bad.json"
    payload.write_text('{"sepal_length": "long"}')
    result = run_script("predict.sh", url, str(payload))
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"].startswith("expected numbers")  # still shown
    assert result.stderr == f"predict.sh: HTTP 400 from {url}\n"


def test_predict_with_no_answer(closed_port):
    result = run_script("predict.sh", f"http://127.0.0.1:{closed_port}")
    assert result.returncode == 1
    assert f"predict.sh: no answer from http://127.0.0.1:{closed_port}" in result.stderr


def test_predict_usage_errors(url, tmp_path):
    missing = run_script("predict.sh", url, str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert "payload file not found" in missing.stderr
    assert run_script("predict.sh", "--bogus").returncode == 2
    assert run_script("predict.sh", "--env", "aws").returncode == 2  # --env needs --api


@pytest.fixture
def fake_cortex(tmp_path) -> dict[str, str]:
    """PATH with the stand-in `cortex` (tests/fake_cortex/cortex: not Cortex) first."""
    state = tmp_path / "cortex-state"
    state.mkdir()
    return {"PATH": f"{FAKE_CORTEX_DIR}{os.pathsep}{os.environ['PATH']}",
            "FAKE_CORTEX_STATE": str(state)}


def deploy_with_fake(env: dict[str, str], config, *args: str) -> None:
    from subprocess import run

    run(["cortex", "deploy", str(config), *args], env={**os.environ, **env}, check=True,
        capture_output=True)


def test_predict_finds_the_endpoint_with_cortex_get(url, tmp_path, fake_cortex):
    config = write_project(tmp_path / "p", [api("iris-classifier", "stub_iris.py")])
    deploy_with_fake(fake_cortex, config, "--env", "aws")
    # On a terminal the real CLI prints "endpoint:" in bold; the script strips that too.
    env = {**fake_cortex, "FAKE_CORTEX_ENDPOINT_iris_classifier": url, "FAKE_CORTEX_COLOR": "1"}
    result = run_script("predict.sh", "--api", "iris-classifier", "--env", "aws", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["label"] == "setosa"
    calls = (tmp_path / "cortex-state" / "calls.log").read_text().splitlines()
    assert calls[-1] == "get iris-classifier --env aws"


def test_predict_with_an_api_that_is_not_deployed(fake_cortex):
    result = run_script("predict.sh", "--api", "nope", "--env", "aws", env=fake_cortex)
    assert result.returncode == 2
    assert "nope is not deployed" in result.stderr
    assert "shows no endpoint (is it deployed?)" in result.stderr


# --- smoke.sh --------------------------------------------------------------------------------


def test_smoke_passes(url):
    result = run_script("smoke.sh", url)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == f"smoke-testing {url}"
    assert lines[1:] == [
        "ok   GET answers the summary",
        "ok   POST sample.json answers label setosa",
        "ok   a payload that is not an iris gets 400",
        "ok   200 requests, 16 at a time, all answer 200",
        "4 passed, 0 failed",
    ]


def test_smoke_fails_on_a_wrong_label(urls):
    result = run_script("smoke.sh", urls[1])
    assert result.returncode == 1
    assert "FAIL POST sample.json answers label setosa: HTTP 200: " in result.stdout
    assert result.stdout.splitlines()[-1] == "3 passed, 1 failed"
    assert run_script("smoke.sh", urls[1], "--label", "versicolor").returncode == 0


def test_smoke_with_no_server(closed_port):
    result = run_script("smoke.sh", f"http://127.0.0.1:{closed_port}", "--requests", "5")
    assert result.returncode == 1
    assert "FAIL 5 requests, 16 at a time, all answer 200: 0 x 200, 5 x no answer" \
        in result.stdout
    assert result.stdout.splitlines()[-1] == "0 passed, 4 failed"


def test_smoke_burst_counts_what_is_not_200(tmp_path):
    """A burst beyond the API's max_replica_concurrency gets 503s, and smoke.sh says so:
    each predict takes 0.2 s, only 1 may be in flight, the burst keeps 16 going."""
    config = write_project(tmp_path, [api("tiny", "thread_probe.py", threads=1,
                                          max_concurrency=1,
                                          config={"parties": 1, "hold_s": 0.2})])
    with Server(config) as server:
        result = run_script("smoke.sh", server.url, "--requests", "32", "--concurrency", "16")
    line = next(li for li in result.stdout.splitlines() if "32 requests" in li)
    assert line.startswith("FAIL 32 requests, 16 at a time, all answer 200: ")
    assert " x HTTP 503" in line
    assert result.returncode == 1


def test_smoke_usage_errors():
    assert run_script("smoke.sh", "--requests", "0").returncode == 2
    assert run_script("smoke.sh", "a", "b").returncode == 2


def test_scripts_need_no_python():
    for name in ("predict.sh", "smoke.sh", "deploy.sh"):
        text = (ROOT / "scripts" / name).read_text()
        assert text.startswith("#!/usr/bin/env bash\n")
        assert "python" not in text.lower()
