"""A new user's path, README top to a model of their own: `make remove-example` leaves
model/ empty of the iris model (a README there says what goes in) and the README without a
dead link; what then reads the project says "no model yet" in one line; `make setup`
sets up and does nothing else; no line of noise after pytest's summary.

The Makefile runs in a folder of its own (a copy of what each test needs), never in the
project: `make -n` where a target would set up or serve."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cortex_tools.image_stack import stack
from tests.tools import house
from tests.tools.make_env import as_from_a_shell

ROOT = Path(__file__).resolve().parents[2]
IRIS_MODEL = ["model/saved_model.pb", "model/variables/variables.index",
              "model/variables/variables.data-00000-of-00001"]
EXAMPLE = ["example/export_model.py", "example/iris.csv", "example/bench-reference/report.md",
           "example/bench-reference/summary.json", "tests/example/test_iris.py",
           "sample.expected.json", "samples/other.expected.json"]
NEXT = ("removed the iris example; next: put your model in model/ (model/README.md: make "
        "convert SRC=PATH for a TensorFlow 2.x or Keras model), then README, 'Put in your own "
        "model'")
NO_MODEL_YET = ('"model" holds no model yet: put yours there (make convert SRC=PATH for a '
                "TensorFlow 2.x or Keras model; a TF1 SavedModel, frozen graph or checkpoint "
                'as it is: model/README.md), then adapt predictor.py\'s four parts (README: '
                '"Put in your own model")')


def example_project(folder: Path, saved_model: bytes = b"...setosa versicolor virginica...",
                    ) -> Path:
    """The files `make remove-example` reads and removes, as the template ships them: the
    iris SavedModel in model/ (its graph names the classes), the example's sources, its
    tests, expected answers and reference benchmark; the Makefile, README.md and
    model/README.md are the project's own."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("Makefile", "README.md", "model/README.md"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, folder / name)
    for name in [*IRIS_MODEL, *EXAMPLE]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(saved_model if name == IRIS_MODEL[0] else b"x")
    return folder


def make(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", *args], cwd=folder, capture_output=True, text=True,
                          timeout=120, env=as_from_a_shell())


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


# --- make remove-example ----------------------------------------------------------------------


def test_remove_example_empties_model_of_the_iris_model_and_says_what_next(tmp_path):
    folder = example_project(tmp_path)
    done = make(folder, "remove-example")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == NEXT
    assert files_under(folder) == {"Makefile", "README.md", "model/README.md",
                                   "example/bench-reference/report.md",
                                   "example/bench-reference/summary.json"}
    assert make(folder, "remove-example").returncode == 0  # twice: nothing left to remove


def test_remove_example_keeps_a_model_of_yours_put_there_first(tmp_path):
    """Only the iris SavedModel's files go, and only when its graph is the iris one."""
    folder = example_project(tmp_path)
    for name in ("checkpoint", "house.ckpt.meta", "house.ckpt.index"):
        (folder / "model" / name).write_bytes(b"yours")
    assert make(folder, "remove-example").returncode == 0
    assert files_under(folder / "model") == {"README.md", "checkpoint", "house.ckpt.meta",
                                             "house.ckpt.index"}

    yours = example_project(tmp_path / "yours", saved_model=b"a SavedModel of your own")
    assert make(yours, "remove-example").returncode == 0
    assert files_under(yours / "model") == {"README.md", *(n[len("model/"):]
                                                           for n in IRIS_MODEL)}


def test_models_readme_says_what_goes_there():
    text = (ROOT / "model" / "README.md").read_text()
    for what in ("make convert SRC=", "a SavedModel", "a frozen graph", "a checkpoint",
                 "`inputs:` and\n    `outputs:`", "One model only"):
        assert what in text, what


def test_after_remove_example_the_readme_has_no_dead_link(tmp_path):
    folder = example_project(tmp_path)
    assert make(folder, "remove-example").returncode == 0
    text = (folder / "README.md").read_text()
    links = re.findall(r"\]\(([^)#\s]+)\)", text)
    assert links, "the README links to no file: the test reads nothing"
    dead = [link for link in links if "://" not in link and not (folder / link).exists()]
    assert dead == []


def test_the_configs_comments_claim_no_format_for_the_model():
    for name in ("cortex.yaml", "cortex-gpu.yaml"):
        for line in (ROOT / name).read_text().splitlines():
            if re.match(r"\s*model:", line):
                assert "SavedModel" not in line and "frozen" not in line, line


def no_model_project(folder: Path) -> Path:
    """A project as `make remove-example` leaves it, before the model is in: model/ holding
    its README.md only, a config of two APIs pointing at it (the house project's, not the
    project's own cortex.yaml, which a user adapts), the template's tests beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("tf_session.py", "pyproject.toml", "model/README.md", "tests/__init__.py",
                 "tests/conftest.py", "tests/stack.py"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "tests" / "template", folder / "tests" / "template",
                    ignore=shutil.ignore_patterns("__pycache__"))
    os.symlink(ROOT / "tools", folder / "tools")  # the image stack's tests read its py36/
    (folder / "predictor.py").write_text(house.PREDICTOR)
    (folder / "sample.json").write_text(json.dumps(house.SAMPLE))
    one = house.CONFIG.format(rooms="rooms:0", price="price:0")
    (folder / "cortex.yaml").write_text(one + one.replace("name: house", "name: house-2"))
    return folder


MODEL_LINES = [house.LINES["model"], len(house.CONFIG.splitlines()) + house.LINES["model"]]


def test_make_check_says_model_holds_no_model_yet(tmp_path):
    folder = no_model_project(tmp_path)
    done = subprocess.run([sys.executable, "-m", "cortex_tools.config_check", "cortex.yaml"],
                          cwd=folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        f"cortex.yaml:{MODEL_LINES[0]}: api house: predictor.config.model: {NO_MODEL_YET}",
        f"cortex.yaml:{MODEL_LINES[1]}: api house-2: predictor.config.model: {NO_MODEL_YET}",
        "cortex.yaml: FAILED (2 errors)"]


IMAGE_PYTEST = [str(stack.python()), str(stack.PY36_DIR / "run_pytest.py")]


@pytest.mark.parametrize("pytest_command", [
    pytest.param([sys.executable, "-m", "pytest"], id="local-stack"),
    pytest.param(IMAGE_PYTEST, id="image-stack", marks=pytest.mark.skipif(
        not stack.is_ready(), reason=stack.missing_line()))])
def test_the_template_tests_say_it_once_instead_of_failing_each(tmp_path, pytest_command):
    folder = no_model_project(tmp_path)
    done = subprocess.run([*pytest_command, "tests/template", "-q", "-p", "no:cacheprovider"],
                          cwd=folder, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TEMPLATE_TOOLS_PYTHON": sys.executable})
    assert done.returncode == 1, done.stdout + done.stderr
    said = [line for line in done.stdout.splitlines() if "no template test can run" in line]
    assert len(said) == 1, done.stdout
    assert (f"no template test can run: the project's APIs do not load: "
            f"{folder / 'cortex.yaml'}:{MODEL_LINES[0]}: api house: predictor.config.model: "
            f"{NO_MODEL_YET} (and 1 more: make check lists them)") in said[0]
    assert " passed" not in done.stdout and " failed" not in done.stdout


def test_make_convert_writes_into_the_model_folder_remove_example_leaves(tmp_path):
    """README's Keras path: make remove-example, then make convert SRC=... (DEST model):
    model/ holding only its README.md takes the model, and keeps the README."""
    from cortex_tools.convert import destination
    from cortex_tools.convert.errors import ConvertError

    dest = tmp_path / "model"
    dest.mkdir()
    (dest / "README.md").write_text("what goes here")
    destination.check(str(dest))
    with destination.staged(str(dest)) as folder:
        (Path(folder) / "saved_model.pb").write_bytes(b"converted")
    assert files_under(dest) == {"README.md", "saved_model.pb"}
    assert (dest / "README.md").read_text() == "what goes here"
    (dest / "saved_model.pb").unlink()
    (dest / "notes.txt").write_text("yours")  # anything else of yours still stops it
    with pytest.raises(ConvertError, match="DEST .* is a folder holding notes.txt, not a "
                                           "SavedModel"):
        destination.check(str(dest))


def test_the_readmes_last_step_runs_make_check_once():
    """Step 5 of "A TF1 artifact": `make test` runs `make check` itself, so the step does
    not tell the user to run both (make check twice, the second one minutes long)."""
    text = (ROOT / "README.md").read_text()
    step = text[text.index("\n5. ", text.index("**A TF1 artifact**")):]
    step = step[:step.index("\n\n")]
    commands = re.findall(r"`(make \w+)`", step)
    assert commands[:2] == ["make test", "make check"], step
    assert "`make test`, which runs `make check` first" in step, step
    assert "then `make serve`" in step, step
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: .*\bcheck\b", makefile, re.M), "make test no longer runs check"


# --- make setup, and the downloads it announces ----------------------------------------------


def linked_project(folder: Path) -> Path:
    """A folder whose Makefile, requirements, tools and virtualenvs are the project's
    (links): make there sees .venv set up, as in the project, and touches nothing of it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("Makefile", "requirements-dev.txt", "requirements-image.txt", "tools",
                 ".venv", ".venv-image"):
        if (ROOT / name).exists():
            os.symlink(ROOT / name, folder / name)
    return folder


def test_make_setup_sets_up_and_runs_nothing_else(tmp_path):
    folder = linked_project(tmp_path)
    done = make(folder, "-n", "setup")
    assert done.returncode == 0, done.stdout + done.stderr
    commands = done.stdout.splitlines()
    assert any("-m cortex_tools.image_stack setup" in line for line in commands), commands
    for other in ("pytest", "config_check", "cortex_tools.runtime", "cortex_tools.bench",
                  "image_stack test", "image_stack check", "ruff", "vermin", "wrk"):
        assert not any(other in line for line in commands), (other, commands)


def test_a_fresh_venv_announces_its_download_before_pip_starts(tmp_path):
    """Where .venv is not set up, make says what it downloads, how much and where to,
    before the first pip install; and keeps setuptools' editable-install warning out."""
    folder = tmp_path / "fresh"
    folder.mkdir()
    for name in ("Makefile", "requirements-dev.txt", "requirements-image.txt"):
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "tools", folder / "tools", ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info"))
    done = make(folder, "-n", "setup")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    said = next(i for i, line in enumerate(lines) if "up to about 410 MB to download" in line)
    first_pip = next(i for i, line in enumerate(lines) if "-m pip install" in line)
    assert said < first_pip
    assert (".venv: pip installs requirements-dev.txt into .venv: up to about 410 MB to "
            "download (tensorflow-cpu 2.21.0 is 262 MB of it), less what pip's cache holds"
            ) in lines[said]
    editable = next(line for line in lines if "-e tools" in line)
    assert editable.startswith('PYTHONWARNINGS="ignore:Editable installation" ')


def test_the_editable_warning_filter_matches_setuptools_words():
    """setuptools' BuildBackendWarning reads "Editable installation.\\n!!\\n..."; the
    filter make sets hides it and nothing else."""
    warn = ("import warnings\n"
            "class BuildBackendWarning(UserWarning): pass\n"
            "warnings.warn('Editable installation.\\n!!\\n  Please be careful', "
            "BuildBackendWarning)\n"
            "warnings.warn('another warning', BuildBackendWarning)\n")
    for setting, shown in ((None, 2), ("ignore:Editable installation", 1)):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
        if setting:
            env["PYTHONWARNINGS"] = setting
        done = subprocess.run([sys.executable, "-c", warn], capture_output=True, text=True,
                              env=env)
        assert done.stderr.count("BuildBackendWarning") == shown, done.stderr


# --- noise --------------------------------------------------------------------------------------


def test_no_batching_report_after_pytests_summary(tmp_path):
    """A test run that builds batching models: tf_session's exit line of each batcher (for
    a worker's log and make bench) does not follow pytest's summary."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/machinery/test_batching.py", "-k", "own_row"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout.splitlines()[-1], done.stdout
    assert "server_side_batching ran" not in done.stdout + done.stderr


def test_the_image_stack_announces_its_download_before_pip_starts(tmp_path, monkeypatch):
    """Made in a folder of its own, offline: the line comes before the venv is made (let
    alone pip run), then pip fails to reach an index, and says so."""
    interpreter = stack.find_python36()
    if interpreter is None:
        pytest.skip(stack.missing_line())
    venv = tmp_path / ".venv-image"
    monkeypatch.setattr(stack, "VENV", venv)
    monkeypatch.setattr(stack, "TEST_TOOLS_DIR", venv / "test-tools")
    (tmp_path / "no-links").mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no-links"))
    said = []
    with pytest.raises(stack.SetupError) as failed:
        stack.setup(interpreter.path, say=lambda line: said.append((line, venv.exists())))
    assert said == [(
        f"image stack: making .venv-image from Python {interpreter.version} "
        f"({interpreter.path}) with requirements-image.txt: pip downloads up to about 185 MB "
        f"(tensorflow-cpu 2.1.0 is 100 MB of it) into {venv}, less what its cache holds; "
        "about a minute", False)]
    assert "install --quiet --no-deps -r" in str(failed.value)
