"""scripts/deploy.sh against a stand-in `cortex` (tests/fake_cortex/cortex), not Cortex.

The stand-in prints what Cortex 0.17.1's CLI prints for `deploy` and `get NAME`; its
endpoints point at real local servers (tests/tools/script_stubs.py), so deploy.sh's smoke
tests run, with the project's sample.json and sample.expected.json.
"""

from __future__ import annotations

import os

import pytest

from tests.tools.script_stubs import stub_apis, write_sample
from tests.tools.serve_helpers import FAKE_CORTEX_DIR, run_script


@pytest.fixture(scope="module")
def urls(tmp_path_factory):
    with stub_apis(tmp_path_factory.mktemp("deploy-servers")) as apis:
        yield apis


@pytest.fixture
def project(tmp_path):
    """A config with two APIs, one written with its name after another key, quoted."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "cortex.yaml").write_text(
        "# two APIs\n"
        "- name: iris-classifier  # threads 1\n"
        "  predictor:\n"
        "    type: python\n"
        "    path: predictor.py\n"
        "\n"
        "- predictor:\n"
        "    type: python\n"
        "    path: predictor.py\n"
        '  name: "iris-classifier-4"\n'
    )
    write_sample(folder)
    return folder


@pytest.fixture
def cortex_env(tmp_path, urls):
    state = tmp_path / "cortex-state"
    state.mkdir()
    return {
        "PATH": f"{FAKE_CORTEX_DIR}{os.pathsep}{os.environ['PATH']}",
        "FAKE_CORTEX_STATE": str(state),
        "FAKE_CORTEX_UPDATING": "2",  # two polls say "updating", then "live"
        "FAKE_CORTEX_ENDPOINT_iris_classifier": urls["good"],
        "FAKE_CORTEX_ENDPOINT_iris_classifier_4": urls["good"] + "/predict",
        "DEPLOY_POLL": "0.05",
        "DEPLOY_TIMEOUT": "10",
    }


def calls(env) -> list[str]:
    return open(os.path.join(env["FAKE_CORTEX_STATE"], "calls.log")).read().splitlines()


def test_deploy_waits_for_live_then_smoke_tests_each_api(project, cortex_env, urls, tmp_path):
    # From another folder: the smoke tests take the config's project's sample.json.
    result = run_script("deploy.sh", str(project / "cortex.yaml"), "--env", "aws",
                        env=cortex_env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls(cortex_env) == [
        f"deploy {project / 'cortex.yaml'} --env aws",
        *["get iris-classifier --env aws"] * 3,
        *["get iris-classifier-4 --env aws"] * 3,
    ]
    out = result.stdout
    assert "creating iris-classifier\ncreating iris-classifier-4\n" in out  # cortex's own
    assert "deploy.sh: iris-classifier: updating; waiting" in out
    assert f"deploy.sh: iris-classifier is live at {urls['good']}\n" in out
    assert f"deploy.sh: iris-classifier-4 is live at {urls['good']}/predict\n" in out
    assert out.count("ok   POST sample.json answers sample.expected.json") == 2
    assert out.count("4 passed, 0 failed") == 2
    assert out.splitlines()[-1] == (
        "deploy.sh: 2 API(s) live and smoke-tested: iris-classifier iris-classifier-4")


def test_deploy_passes_yes_and_force_to_cortex(project, cortex_env):
    result = run_script("deploy.sh", "--yes", "cortex.yaml", "-f", "-e", "aws", env=cortex_env,
                        cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls(cortex_env)[0] == "deploy cortex.yaml --env aws --yes -f"


def test_deploy_without_env_uses_cortex_default(project, cortex_env):
    result = run_script("deploy.sh", env=cortex_env, cwd=project)  # cortex.yaml, default env
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls(cortex_env)[0] == "deploy cortex.yaml"
    assert calls(cortex_env)[1] == "get iris-classifier"


def test_deploy_fails_when_a_smoke_test_fails(project, cortex_env, urls):
    env = {**cortex_env, "FAKE_CORTEX_ENDPOINT_iris_classifier_4": urls["wrong"]}
    result = run_script("deploy.sh", "--env", "aws", env=env, cwd=project)
    assert result.returncode == 1
    assert "4 passed, 0 failed" in result.stdout and "3 passed, 1 failed" in result.stdout
    assert "deploy.sh: smoke test failed for: iris-classifier-4" in result.stderr


def test_deploy_stops_at_an_error_status(project, cortex_env):
    env = {**cortex_env, "FAKE_CORTEX_STATUS_iris_classifier": "error"}
    result = run_script("deploy.sh", "--env", "aws", env=env, cwd=project)
    assert result.returncode == 1
    assert ('deploy.sh: iris-classifier: status "error"; see `cortex logs iris-classifier '
            "--env aws`") in result.stderr
    assert calls(env)[1:] == ["get iris-classifier --env aws"]  # no more polling


def test_deploy_times_out(project, cortex_env):
    timeout_s, poll_s = 1, 0.2
    env = {**cortex_env, "FAKE_CORTEX_STATUS_iris_classifier": "compute unavailable",
           "DEPLOY_TIMEOUT": str(timeout_s), "DEPLOY_POLL": str(poll_s)}
    result = run_script("deploy.sh", "--env", "aws", env=env, cwd=project)
    assert result.returncode == 1
    assert "deploy.sh: iris-classifier: compute unavailable; waiting" in result.stdout
    assert ("deploy.sh: iris-classifier is not live after 1s (status: compute unavailable)"
            in result.stderr)
    # polled every DEPLOY_POLL s, not in a busy loop, for DEPLOY_TIMEOUT to DEPLOY_TIMEOUT + 1
    # s (bash's SECONDS counts whole seconds): at most one `get` per poll, and one at the end
    gets = calls(env)[1:]
    assert set(gets) == {"get iris-classifier --env aws"}
    assert 2 <= len(gets) <= (timeout_s + 1) / poll_s + 1


def test_deploy_fails_when_cortex_deploy_fails(project, cortex_env):
    env = {**cortex_env, "FAKE_CORTEX_DEPLOY_ERROR": "unable to connect to the operator"}
    result = run_script("deploy.sh", "--env", "aws", env=env, cwd=project)
    assert result.returncode == 1
    assert "error: unable to connect to the operator" in result.stdout
    assert "deploy.sh: cortex deploy failed" in result.stderr
    assert calls(env) == ["deploy cortex.yaml --env aws"]


def test_deploy_usage_errors(project, cortex_env, tmp_path):
    missing = run_script("deploy.sh", "nope.yaml", env=cortex_env, cwd=project)
    assert (missing.returncode, "config file not found: nope.yaml" in missing.stderr) == (2, True)
    no_cli = run_script("deploy.sh", env={"PATH": "/usr/bin:/bin"}, cwd=project)
    assert (no_cli.returncode, "cortex CLI is not on PATH" in no_cli.stderr) == (2, True)
