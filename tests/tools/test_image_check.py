"""`make check`'s model check on the image's own stack: each API's predictor.py and
tf_session.py run on Python 3.6, TensorFlow 2.1.0 and numpy 1.18.4, and must answer as
the local runtime does. A predictor that needs Python 3.7 only at run time passes every
local check and fails here, naming what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cortex_tools.image_stack import stack
from tests.tools import house

CHECK = [sys.executable, "-m", "cortex_tools.image_stack", "check"]

needs_image_stack = pytest.mark.skipif(not stack.is_ready(), reason=stack.missing_line())


def project(tmp_path: Path, predict_body: str | None = None) -> Path:
    """The house-price checkpoint project (float, int64 and string inputs), built here: not
    the project's own files, which a user replaces; predict's body replaced if given."""
    folder = tmp_path / "project"
    house.project(folder)
    if predict_body is not None:
        source = (folder / "predictor.py").read_text()
        old = "        return self.model.predict(payload, self.to_inputs, self.to_answer)\n"
        assert old in source
        (folder / "predictor.py").write_text(source.replace(old, predict_body))
    return folder


def check(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CHECK, "cortex.yaml"], cwd=folder, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


@needs_image_stack
def test_a_project_answers_on_the_image_stack_as_locally(tmp_path):
    done = check(project(tmp_path))
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines[0].startswith("TF 2.1.0 model check: image stack (Python 3.6.")
    assert "tensorflow-cpu 2.1.0, numpy 1.18.4 in .venv-image)" in lines[0]
    assert lines[1:] == ["api house: on the image stack answers sample.json from 1 thread as "
                         "the local runtime does (max |diff| 0)"]


ASYNCIO_RUN = """\
        import asyncio

        async def answer():
            return self.model.predict(payload, self.to_inputs, self.to_answer)

        return asyncio.run(answer())  # Python 3.7+
"""


@needs_image_stack
def test_a_predictor_that_needs_python_3_7_at_run_time_fails_naming_it(tmp_path):
    folder = project(tmp_path, ASYNCIO_RUN)
    line = next(i for i, text in enumerate((folder / "predictor.py").read_text().splitlines(),
                                           1) if "asyncio.run(" in text)
    done = check(folder)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (f"api house: sample.json: predict() raises on the image stack: "
            f"AttributeError: module 'asyncio' has no attribute 'run' (predictor.py:{line})"
            ) in done.stdout.splitlines(), done.stdout


def test_without_the_image_stack_the_c_api_check_runs_and_says_so(monkeypatch, capsys):
    from cortex_tools.image_stack import check as image_check

    monkeypatch.setattr(stack, "is_ready", lambda: False)
    called = []
    monkeypatch.setattr("cortex_tools.tf21.__main__.main", lambda argv: called.append(argv) or 0)
    assert image_check.main([Path("cortex.yaml")]) == 0
    assert called == [["check", "cortex.yaml"]]
    assert capsys.readouterr().out == (f"TF 2.1.0 model check: C-API fallback "
                                       f"({stack.missing_line()})\n")
