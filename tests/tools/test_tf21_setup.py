"""cortex_tools.tf21's set-up and plumbing: the pinned wheel, the cache, the shim, one clear
line when something is missing, the runner's isolation, arrays and comparisons."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cortex_tools.tf21 import arrays, shim, wheel
from cortex_tools.tf21.compare import compare, diff_text

ROOT = Path(__file__).resolve().parents[2]
CLI = (sys.executable, "-m", "cortex_tools.tf21")


def offline_env(cache: Path, **extra: str) -> dict[str, str]:
    """An environment whose pip reaches no index and whose cache is `cache`."""
    links = cache / "no-links"
    links.mkdir(parents=True, exist_ok=True)
    return {**os.environ, wheel.CACHE_ENV: str(cache), "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(links), **extra}


def test_the_cached_wheel_is_the_pinned_one(prepared):
    cached = wheel.tf21_dir() / wheel.WHEEL_NAME
    assert cached.stat().st_size == wheel.WHEEL_SIZE
    assert wheel.sha256(cached) == wheel.WHEEL_SHA256
    assert prepared.extracted.c_library.is_file()
    assert (prepared.extracted.package / "libtensorflow_framework.so.2").is_file()


def test_only_the_needed_members_are_extracted():
    assert wheel.needed(wheel.C_LIBRARY) and wheel.needed(wheel.FRAMEWORK_LIBRARY)
    assert wheel.needed("tensorflow_core/_api/v2/compat/v1/__init__.py")
    assert wheel.needed("tensorflow_core/core/protobuf/config_pb2.py")
    assert not wheel.needed("tensorflow_core/lite/python/optimize/"
                            "_tensorflow_lite_wrap_calibration_wrapper.so")
    assert not wheel.needed("tensorflow_core/include/tensorflow/core/framework/op.h")


def test_without_network_on_the_first_run_it_says_what_it_fetches_then_why_not(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "cortex.yaml").write_text(
        "- name: iris\n  predictor:\n    type: python\n    path: predictor.py\n"
        "    config: {model: model, session_strategy: per_request}\n")
    (project / "predictor.py").write_text("class PythonPredictor:\n"
                                          "    def __init__(self, config):\n        pass\n")
    for command in ("check", "api"):
        done = subprocess.run([*CLI, command], cwd=project, capture_output=True, text=True,
                              env=offline_env(tmp_path / "cache"))
        assert done.returncode == 1, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert len(lines) == 2, done.stdout
        # a download over 10 MB is announced before it starts: what, how big, where to
        folder = tmp_path / "cache" / "tensorflow-cpu-2.1.0"
        assert lines[0] == (f"TensorFlow 2.1.0 for the checks: pip downloads {wheel.WHEEL_NAME}"
                            f" (105 MB) into {folder}, once")
        assert lines[1].startswith("cannot check against TensorFlow 2.1.0: TensorFlow 2.1.0 "
                                   "is not in the cache")
        assert "connect to PyPI once for tensorflow-cpu==2.1.0 (105 MB)" in lines[1]
        assert wheel.WHEEL_NAME in lines[1]


def test_a_wheel_without_the_pinned_hash_is_not_used(tmp_path, monkeypatch):
    folder = wheel.tf21_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / wheel.WHEEL_NAME).write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    for key, value in offline_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(wheel.SetupError, match="pip cannot fetch it"):
        wheel.ensure(tmp_path)  # it tries to fetch the real one instead
    assert not (folder / "extracted").exists()


def test_without_a_c_compiler_one_line_says_so(tmp_path, prepared):
    assert shim.needed(), "this Python exports _Py_CheckRecursionLimit: no shim to test"
    cache = tmp_path / "cache"
    folder = wheel.tf21_dir(cache)
    folder.mkdir(parents=True)
    (folder / "extracted").symlink_to(prepared.extracted.root)  # the wheel, but no shim
    done = subprocess.run([*CLI, "check"], cwd=ROOT, capture_output=True, text=True,
                          env=offline_env(cache, CC="no-such-cc"))
    assert done.returncode == 1, done.stdout + done.stderr
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert done.stdout.splitlines() == [
        "cannot check against TensorFlow 2.1.0: no C compiler (no-such-cc) to build the "
        f"one-line shim that TF 2.1's library needs on Python {python} (it defines "
        "_Py_CheckRecursionLimit): install one (sudo apt-get install gcc), or set CC"]


def test_the_shim_is_built_once(tmp_path):
    built = shim.build(tmp_path)
    stamp = built.stat().st_mtime_ns
    assert shim.build(tmp_path, compiler="no-such-cc") == built  # not built again
    assert built.stat().st_mtime_ns == stamp


def test_the_runner_never_imports_the_local_tensorflow(tmp_path, prepared):
    out = tmp_path / "ops.pb"
    job = {"task": "op-list", "out": str(out), "library": str(prepared.extracted.c_library),
           "shim": str(prepared.shim) if prepared.shim else None}
    (tmp_path / "job.json").write_text(json.dumps(job))
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "cortex_tools.tf21.runner",
                           str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")]
    assert "numpy" in imported and "ctypes" in imported
    assert not [name for name in imported if re.match(r"(tensorflow|keras|google)\b", name)]
    assert out.stat().st_size > 100_000  # TF 2.1's OpList, from its own registry
    assert '"version": "2.1.0"' in (tmp_path / "result.json").read_text()


def test_arrays_keep_strings_bytes_and_numbers(tmp_path):
    strings = np.empty((2, 2), dtype=object)
    strings[:] = [[b"", b"a\x00b"], ["\u00e9", b"\xff" * 300]]
    values = {"s:0": strings, "f:0": np.array([[1.5, -2.0]], np.float32),
              "i": np.int64(7), "b": np.array([True, False])}
    arrays.save(tmp_path / "a.npz", values)
    loaded = arrays.load(tmp_path / "a.npz")
    assert loaded["s:0"].tolist() == [[b"", b"a\x00b"], ["\u00e9".encode(), b"\xff" * 300]]
    assert loaded["f:0"].dtype == np.float32 and loaded["f:0"].tolist() == [[1.5, -2.0]]
    assert loaded["i"] == 7 and loaded["b"].tolist() == [True, False]


def test_compare_accepts_float32_rounding_and_catches_real_differences():
    local = {"p:0": np.array([[0.25, 0.75]], np.float32)}
    rounded = {"p:0": np.nextafter(local["p:0"], np.float32(1))}
    agreed = compare(local, rounded)
    assert agreed.ok and 0 < agreed.max_diff < 1e-7
    off = compare(local, {"p:0": np.array([[0.25, 0.7501]], np.float32)})
    assert not off.ok and "differs by 0.0001" in off.problems[0] and "(0, 1)" in off.problems[0]
    assert "shape" in compare(local, {"p:0": np.zeros((2, 2), np.float32)}).problems[0]
    assert "dtype" in compare(local, {"p:0": np.zeros((1, 2), np.float64)}).problems[0]
    assert "NaN" in compare(local, {"p:0": np.array([[np.nan, 0.75]], np.float32)}).problems[0]
    labels = np.array([b"a", b"b"], dtype=object)
    assert compare({"c:0": labels}, {"c:0": labels.copy()}).ok
    assert not compare({"c:0": labels}, {"c:0": labels[::-1].copy()}).ok
    assert "no value" in compare(local, {}).problems[0]


def test_diff_text():
    assert diff_text(0.0) == "0"
    assert diff_text(2.98e-8) == "3e-8"
    assert diff_text(1.2e-5) == "1e-5"
