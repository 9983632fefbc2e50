"""scripts/predict.sh and scripts/smoke.sh (bash and curl) against a real local server.

The servers run a stub predictor (tests/tools/script_stubs.py) that answers any JSON
object without a model; the project's own predictor is served in tests/template.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from tests.tools.script_stubs import GOOD_ANSWER, STUB, stub_apis, write_sample
from tests.tools.serve_helpers import FAKE_CORTEX_DIR, Server, api, run_script, write_project

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def urls(tmp_path_factory):
    with stub_apis(tmp_path_factory.mktemp("curl")) as apis:
        yield apis


@pytest.fixture(scope="module")
def url(urls) -> str:
    return urls["good"]


@pytest.fixture
def sample_dir(tmp_path) -> Path:
    """A folder with sample.json and sample.expected.json (the good API's answer)."""
    write_sample(tmp_path)
    return tmp_path


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- predict.sh ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "/predict"])
def test_predict_posts_sample_json_of_the_current_folder(url, sample_dir, path):
    result = run_script("predict.sh", url + path, cwd=sample_dir)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == GOOD_ANSWER


def test_predict_uses_the_projects_sample_json_from_anywhere(url, tmp_path):
    result = run_script("predict.sh", url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    project_sample = json.loads((ROOT / "sample.json").read_text())
    assert json.loads(result.stdout)["fields"] == sorted(project_sample)


def test_predict_with_a_payload_file_and_a_non_2xx_answer(url, tmp_path):
    payload = tmp_path / "bad.json"
    payload.write_text("[1, 2]")
    result = run_script("predict.sh", url, str(payload))
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"] == "payload must be a JSON object"  # still shown
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
    config = write_project(tmp_path / "p", [api("iris-classifier", "stub.py")],
                           files={"stub.py": STUB})
    deploy_with_fake(fake_cortex, config, "--env", "aws")
    # On a terminal the real CLI prints "endpoint:" in bold; the script strips that too.
    env = {**fake_cortex, "FAKE_CORTEX_ENDPOINT_iris_classifier": url, "FAKE_CORTEX_COLOR": "1"}
    result = run_script("predict.sh", "--api", "iris-classifier", "--env", "aws", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["answer"] == 1.0
    calls = (tmp_path / "cortex-state" / "calls.log").read_text().splitlines()
    assert calls[-1] == "get iris-classifier --env aws"


def test_predict_with_an_api_that_is_not_deployed(fake_cortex):
    result = run_script("predict.sh", "--api", "nope", "--env", "aws", env=fake_cortex)
    assert result.returncode == 2
    assert "nope is not deployed" in result.stderr
    assert "shows no endpoint (is it deployed?)" in result.stderr


# --- smoke.sh --------------------------------------------------------------------------------


def test_smoke_passes_and_compares_with_the_expected_answer(url, sample_dir):
    result = run_script("smoke.sh", url, cwd=sample_dir)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == f"smoke-testing {url}"
    assert lines[1:] == [
        "ok   GET answers the summary",
        "ok   POST sample.json answers sample.expected.json",
        "ok   a payload that is not a JSON object gets 400",
        "ok   200 requests, 16 at a time, all answer 2xx",
        "4 passed, 0 failed",
    ]


def test_smoke_without_an_expected_answer_checks_for_2xx_json(url, tmp_path):
    write_sample(tmp_path, expected=False)
    result = run_script("smoke.sh", url, "--requests", "5", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "ok   POST sample.json answers 2xx with JSON" in result.stdout


def test_smoke_takes_numbers_within_its_tolerance(urls, sample_dir):
    result = run_script("smoke.sh", urls["close"], "--requests", "5", cwd=sample_dir)
    assert result.returncode == 0, result.stdout
    tight = run_script("smoke.sh", urls["close"], "--requests", "5", cwd=sample_dir,
                       env={"SMOKE_RTOL": "1e-7"})
    assert "FAIL POST sample.json answers sample.expected.json: at .answer: the answer has " \
           "1.00001 where 1.0 was expected" in tight.stdout


def test_smoke_fails_on_a_different_answer(urls, sample_dir):
    result = run_script("smoke.sh", urls["wrong"], cwd=sample_dir)
    assert result.returncode == 1
    assert ("FAIL POST sample.json answers sample.expected.json: at .answer: the answer has "
            '1.5 where 1.0 was expected; got {"answer": 1.5, "fields": ["a", "b"]}'
            ) in result.stdout
    assert result.stdout.splitlines()[-1] == "3 passed, 1 failed"


def test_smoke_fails_on_a_different_shape_of_answer(url, tmp_path):
    write_sample(tmp_path)
    (tmp_path / "sample.expected.json").write_text('{"answer": 1.0}')
    result = run_script("smoke.sh", url, "--requests", "5", cwd=tmp_path)
    assert "FAIL POST sample.json answers sample.expected.json: at .: the answer has more " \
           "items than expected" in result.stdout and result.returncode == 1


@pytest.mark.parametrize(("expected", "difference"), [
    ('{"answer": 1.0, "fields": ["a"]}', "at .fields: the answer has more items than expected"),
    ('{"answer": 1.0, "fields": ["a", "b", "c"]}',
     "at .fields: the answer has fewer items than expected"),
    ('{"answer": 1.0, "fields": ["a", "c"]}',
     'at .fields[1]: the answer has "b" where "c" was expected'),
    ('{"answer": [1.0], "fields": ["a", "b"]}', "at .answer: the answer has 1.0 where [ was "
                                                "expected"),
    ('{"answers": 1.0, "fields": ["a", "b"]}',
     'at .: the answer has "answer" where "answers" was expected'),
])
def test_smoke_names_where_the_answer_differs(url, tmp_path, expected, difference):
    write_sample(tmp_path)
    (tmp_path / "sample.expected.json").write_text(expected)
    result = run_script("smoke.sh", url, "--requests", "5", cwd=tmp_path)
    assert (f"FAIL POST sample.json answers sample.expected.json: {difference}; got "
            in result.stdout), result.stdout
    assert result.returncode == 1


@pytest.mark.parametrize(("expected", "why"), [
    ('{"answer": 1.0, "fields": ["a", "b"]} trailing', "more after its end: t"),
    ('{"answer": NaN, "fields": ["a", "b"]}', "a value expected at .answer, found N"),
    ('{"answer": 1.0, "fields": ["a", "b"]', "it ends early, after .fields"),
    ('{"answer" 1.0}', ": expected at .answer, found 1.0"),
    ("", "it is empty"),
])
def test_smoke_says_when_the_expected_file_is_not_json(url, tmp_path, expected, why):
    """A broken expected file fails, even where its tokens would match the answer's."""
    write_sample(tmp_path)
    (tmp_path / "sample.expected.json").write_text(expected)
    result = run_script("smoke.sh", url, "--requests", "5", cwd=tmp_path)
    assert (f"FAIL POST sample.json answers sample.expected.json: sample.expected.json is not "
            f"JSON: {why}; got " in result.stdout), result.stdout
    assert result.returncode == 1


def test_smoke_with_a_named_expected_file(urls, sample_dir, tmp_path):
    other = tmp_path / "other.json"
    other.write_text('{"answer": 1.5, "fields": ["a", "b"]}')
    result = run_script("smoke.sh", urls["wrong"], "--expected", str(other), "--requests", "5",
                        cwd=sample_dir)
    assert result.returncode == 0, result.stdout


def test_smoke_with_no_server(closed_port):
    result = run_script("smoke.sh", f"http://127.0.0.1:{closed_port}", "--requests", "5")
    assert result.returncode == 1
    assert "FAIL 5 requests, 16 at a time, all answer 2xx: 0 x 2xx, 5 x no answer" \
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
    assert line.startswith("FAIL 32 requests, 16 at a time, all answer 2xx: ")
    assert " x HTTP 503" in line
    assert result.returncode == 1


def test_smoke_usage_errors(tmp_path):
    assert run_script("smoke.sh", "--requests", "0").returncode == 2
    assert run_script("smoke.sh", "a", "b").returncode == 2
    missing = run_script("smoke.sh", "--expected", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "expected answer file not found" in missing.stderr


def test_scripts_need_no_python_and_know_no_model():
    for name in ("predict.sh", "smoke.sh", "deploy.sh"):
        text = (ROOT / "scripts" / name).read_text()
        assert text.startswith("#!/usr/bin/env bash\n")
        for word in ("python", "iris", "setosa", "label"):
            assert word not in text.lower(), (name, word)
