"""Every command a message prints runs as printed, from the project folder: a make target,
or `.venv/bin/python -m cortex_tools...` (a bare `python -m cortex_tools...` fails there:
No module named cortex_tools). Each test makes the message appear, takes the command out
of it and runs it in a project whose Makefile, tools and virtualenvs are the template's
(links): make sees them set up, so it only runs what the command asks."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from cortex_tools.image_stack import stack
from tests.machinery import models
from tests.tools import house
from tests.tools.make_env import as_from_a_shell

ROOT = Path(__file__).resolve().parents[2]
TOOLS_COMMAND = r"\.venv/bin/python -m cortex_tools[.\w]* [^()`;]*[^()`;\s]"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    for name in ("Makefile", "requirements-dev.txt", "requirements-image.txt", "tools",
                 ".venv", ".venv-image"):
        if (ROOT / name).exists():
            os.symlink(ROOT / name, folder / name)
    return folder


def run(command: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(shlex.split(command), cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=as_from_a_shell(TF_CPP_MIN_LOG_LEVEL="2"))


def printed(pattern: str, output: str) -> str:
    found = re.search(pattern, output)
    assert found, f"no command matching {pattern!r} in: {output}"
    return found[0]


def make_runs_only(command: str, cwd: Path) -> str:
    """What `make -n` says the make command runs (nothing of the set-up: it is done)."""
    done = run(command.replace("make ", "make -n ", 1), cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pip install" not in done.stdout, done.stdout
    return done.stdout


def test_the_c_api_checks_command_for_an_invalid_config(project, prepared):
    house.project(project)
    config = project / "cortex.yaml"
    config.write_text(config.read_text().replace("per_request", "per_thread"))
    done = run(f"{sys.executable} -m cortex_tools.tf21 check", project)
    assert done.returncode == 1, done.stdout + done.stderr
    command = printed(TOOLS_COMMAND, done.stdout)
    assert command == ".venv/bin/python -m cortex_tools.config_check cortex.yaml"
    again = run(command, project)
    assert again.returncode == 1, again.stdout + again.stderr
    assert again.stdout.splitlines()[0] == (
        'cortex.yaml:7: api house: predictor.config.session_strategy: "per_thread" is not one '
        "of the choices (per_request or once_per_thread)")


EXITS = """
import os


class PythonPredictor:
    def __init__(self, config):
        import tf_session  # noqa: F401  a template predictor
        os._exit(3)

    def predict(self, payload):
        return payload
"""


def test_the_build_checks_command_to_check_without_building(project):
    house.project(project)
    (project / "predictor.py").write_text(EXITS)
    done = run(f"{sys.executable} -m cortex_tools.config_check", project)
    assert done.returncode == 1, done.stdout + done.stderr
    command = printed(TOOLS_COMMAND, done.stdout)
    assert command == ".venv/bin/python -m cortex_tools.config_check --no-build"
    again = run(command, project)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines() == ["cortex.yaml: OK (1 api)"]


def test_convert_names_a_signature_with_a_command_that_converts(project):
    models.saved_model(project / "two", ("alpha", "beta"))
    done = run(f"{sys.executable} -m cortex_tools.convert two model --config none", project)
    assert done.returncode == 1, done.stdout + done.stderr
    command = printed(r"make convert SRC=\S+ SIGNATURE=\w+", done.stdout + done.stderr)
    assert command == "make convert SRC=two SIGNATURE=alpha"
    assert '-m cortex_tools.convert "two" "model"' in make_runs_only(command, project)
    again = run(command, project)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert "wrote model: a SavedModel of TF1 SavedModel two, signature serving_default" \
        in again.stdout, again.stdout
    assert (project / "model" / "saved_model.pb").is_file()
    # its next step names as OUTPUTS only what predict() can fetch per example
    assert again.stdout.splitlines()[-1] == (
        'next: predictor.config `model: model`; in predictor.py, INPUTS = ["ids", "x"] and '
        'OUTPUTS = ["y"] (scale (2,) has no batch axis: in __init__, self.model.evaluate('
        '"scale") if it needs no input)')


def test_a_debug_hint_runs_as_make_serve(project):
    runs = make_runs_only("make serve SERVE_FLAGS=--debug", project)
    assert re.search(r"-m cortex_tools\.runtime .*--debug$", runs.strip()), runs


def test_the_python_36_hint_runs_as_make_setup(project):
    hint = printed(r"make setup PYTHON36=\S+", stack.GET_ONE)
    interpreter = stack.find_python36()
    if interpreter is None:
        pytest.skip(stack.missing_line())
    runs = make_runs_only(hint.replace("/path/to/python3.6", interpreter.path), project)
    assert f'-m cortex_tools.image_stack setup --python "{interpreter.path}"' in runs
