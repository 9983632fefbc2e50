"""The files a user deploys: predictor rules, Python 3.6 syntax, configs, requirements, upload."""

# Local stack only: the config rules, the class rules and vermin are the local tools'
# (Python 3.10+).

import subprocess
import sys
from pathlib import Path

import pytest

from cortex_tools import project
from cortex_tools.config_check import check_files
from cortex_tools.config_check.project import Project
from cortex_tools.runtime.predictor_loader import load_predictor_class
from tests.conftest import ROOT

VERMIN = [str(Path(sys.executable).with_name("vermin")), "--no-tips", "--violations", "-t=3.6-"]


def test_predictor_passes_cortex_class_rules(root):
    predictor_class = load_predictor_class(root, "predictor.py")
    assert predictor_class.__name__ == "PythonPredictor"


def uploaded_python(root) -> list[str]:
    return sorted(str(p) for p in Project(root, root / "cortex.yaml").uploaded_files()
                  if p.suffix == ".py")


def test_uploaded_python_is_python_3_6_syntax(root):
    files = uploaded_python(root)
    assert {"predictor.py", "tf_session.py"} <= set(files)
    done = subprocess.run([*VERMIN, *files], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_syntax_check_catches_newer_syntax(tmp_path):
    newer = tmp_path / "newer.py"
    newer.write_text("def f(x):\n    if (y := x):\n        return y\n")  # 3.8 walrus
    done = subprocess.run([*VERMIN, str(newer)], capture_output=True, text=True)
    assert done.returncode != 0 and "3.8" in done.stdout


CONFIGS = [path.name for path in project.config_files(ROOT)]


@pytest.fixture(scope="module")
def make_check(root):
    """`make check` on the shipped configs, build check included: one child process
    builds every API's predictor with the project's model."""
    return dict(zip(CONFIGS, check_files([root / name for name in CONFIGS], strict=True),
                    strict=True))


@pytest.mark.parametrize("name", CONFIGS)
def test_config_is_valid_for_cortex_0_17(make_check, name):
    result = make_check[name]
    assert [p.format() for p in result.problems] == []
    assert result.ok
    assert result.built == len(result.apis)  # every API's predictor built with its model


def test_requirements_never_reinstall_tensorflow(root):
    lines = [line.split("#")[0].strip().lower()
             for line in (root / "requirements.txt").read_text().splitlines()]
    assert not [line for line in lines if line.startswith("tensorflow")]


def test_cortex_deploy_uploads_what_the_api_needs_and_nothing_else(root):
    uploaded = {str(p) for p in Project(root, root / "cortex.yaml").uploaded_files()}
    model_files = {p.relative_to(root).as_posix()
                   for p in (root / "model").rglob("*") if p.is_file()}
    # model/README.md (what goes in model/) stays home: .cortexignore's README.md
    model_files.discard("model/README.md")
    assert uploaded == {"predictor.py", "tf_session.py", "requirements.txt"} | model_files
