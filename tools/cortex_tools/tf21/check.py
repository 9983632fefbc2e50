"""The model check: each API's model loaded and run in TF 2.1.0, against the local outputs.

Three kinds of process, so that two TensorFlow runtimes never share one:

- this one (the CLI): no TensorFlow at all; it fetches the wheel, builds the shim, starts
  the others and writes the verdicts;
- one local process (local.py, the local TensorFlow) for all items: the predictor built as
  a Cortex worker builds it, the feed and results of its Session.run calls for
  sample.json, and each model as the image's loader hands it to TF 2.1 (load.py);
- one TF 2.1 process (runner.py, ctypes and numpy only) per model, so that a crash in
  TF 2.1 is that model's verdict and not the end of the check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cortex_tools.tf21 import TF_VERSION, arrays, shim, wheel
from cortex_tools.tf21.compare import Comparison, compare, diff_text
from cortex_tools.tf21.diagnose import Finding, diagnose

RUNNER_TIMEOUT_S = 300  # a model that takes longer to load and run is a failure too
LOCAL_TIMEOUT_S = 900


@dataclass
class Outcome:
    """One API's or model's verdict: a line, and the details under it when it failed."""

    ok: bool
    line: str
    details: list[str] = field(default_factory=list)
    max_diff: float | None = None

    def lines(self) -> list[str]:
        return [self.line] + ["  " + detail for detail in self.details]


@dataclass(frozen=True)
class Setup:
    extracted: wheel.Extracted
    shim: Path | None
    op_list: Path


def setup() -> Setup:
    """The wheel, the shim and TF 2.1's op list, each made once per cache (SetupError:
    one line that says what is missing)."""
    extracted = wheel.ensure()
    shim_path = shim.ensure()
    op_list = wheel.tf21_dir() / "op_list.pb"
    if not op_list.is_file():
        with tempfile.TemporaryDirectory(dir=op_list.parent, prefix=".ops-") as tmp:
            partial = Path(tmp) / op_list.name
            result = run_tf21(Path(tmp), {"task": "op-list", "out": str(partial)},
                              extracted, shim_path)
            if not result.get("ok") or not partial.is_file():
                raise wheel.SetupError(f"TF {TF_VERSION}'s library does not load here: "
                                       f"{result.get('message')}")
            os.replace(partial, op_list)
    return Setup(extracted, shim_path, op_list)


def check_apis(apis: list[tuple[Path, str]], prepared: Setup) -> Iterator[tuple[str, Outcome]]:
    """(config file, API name) -> each API's Outcome, in order, as each is judged."""
    with tempfile.TemporaryDirectory(prefix="tf21-check-") as tmp:
        items = [{"api": name, "config": str(config), "out": f"{tmp}/{index}"}
                 for index, (config, name) in enumerate(apis)]
        local_error = run_local(Path(tmp), items, prepared)
        for item, (_, name) in zip(items, apis, strict=True):
            yield name, verdict(f"api {name}", Path(item["out"]), prepared, local_error)


def check_model(path: str, prepared: Setup, signature: str | None = None,
                feed: str | None = None, fetch: list[str] | None = None) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="tf21-check-") as tmp:
        item = {"model": path, "signature": signature,
                "feed": str(Path(feed).resolve()) if feed else None, "fetch": fetch or [],
                "out": f"{tmp}/0"}
        local_error = run_local(Path(tmp), [item], prepared)
        return verdict(f"model {path}", Path(item["out"]), prepared, local_error)


def run_local(folder: Path, items: list[dict], prepared: Setup) -> str | None:
    """Run local.py on the items; None, or why the local process failed as a whole."""
    job = folder / "local-job.json"
    job.write_text(json.dumps({"op_list": str(prepared.op_list), "items": items}))
    try:
        done = subprocess.run([sys.executable, "-m", "cortex_tools.tf21.local", str(job)],
                              capture_output=True, text=True, timeout=LOCAL_TIMEOUT_S,
                              env=_quiet_env())
    except subprocess.TimeoutExpired:
        return f"the local TensorFlow side took more than {LOCAL_TIMEOUT_S} s"
    if done.returncode != 0:
        return "the local TensorFlow side failed: " + _tail(done.stderr)
    return None


def run_tf21(folder: Path, job: dict, extracted: wheel.Extracted, shim_path: Path | None
             ) -> dict:
    """Run runner.py in `folder` on `job`; its result.json, or a crash described alike."""
    job = {**job, "library": str(extracted.c_library),
           "shim": str(shim_path) if shim_path else None}
    (folder / "job.json").write_text(json.dumps(job))
    try:
        done = subprocess.run([sys.executable, "-m", "cortex_tools.tf21.runner", str(folder)],
                              capture_output=True, text=True, timeout=RUNNER_TIMEOUT_S,
                              env=_quiet_env())
    except subprocess.TimeoutExpired:
        return {"ok": False, "stage": _stage(folder), "code": "TIMEOUT",
                "message": f"TF {TF_VERSION} took more than {RUNNER_TIMEOUT_S} s"}
    result_file = folder / "result.json"
    if done.returncode == 0 and result_file.is_file():
        return json.loads(result_file.read_text())
    how = (f"killed by signal {-done.returncode}" if done.returncode < 0
           else f"exit status {done.returncode}")
    return {"ok": False, "stage": _stage(folder), "code": "CRASH",
            "message": f"TF {TF_VERSION}'s process ended ({how}): {_tail(done.stderr)}"}


def verdict(what: str, out: Path, prepared: Setup, local_error: str | None) -> Outcome:
    """Run TF 2.1 on one prepared item and judge it."""
    if local_error:
        return Outcome(False, f"{what}: cannot be checked: {local_error}")
    item_error = _read(out / "error.json").get("error")
    if item_error:
        return Outcome(False, f"{what}: cannot be checked: {item_error}")
    planned = _read(out / "plan.json")
    runs = _read(out / "runs.json")
    if "plan" not in planned:
        return Outcome(False, f"{what}: does not load as the image loads it: "
                              f"{planned.get('error', 'no plan')}")
    plan = planned["plan"]
    result = run_tf21(out, {"task": "check", "plan": plan, "config": planned["config"],
                            "runs": runs.get("runs", [])}, prepared.extracted, prepared.shim)
    locally = runs.get("local_error")
    if not result.get("ok"):
        findings = [Finding(**f) for f in plan["findings"]]
        found = diagnose(result.get("stage") or "?", result.get("code"),
                         result.get("message") or "", plan["kind"], findings,
                         model_path=plan.get("location") or "MODEL.pb")
        details = found.details + ([f"the local TensorFlow fails too: {locally}"]
                                   if locally else [])
        return Outcome(False, f"{what}: fails in TensorFlow {TF_VERSION}: {found.headline}",
                       details)
    if runs.get("refused"):  # sample.json's fault: no outputs of it to compare
        return Outcome(False, f"{what}: {runs['refused']}")
    if locally:
        return Outcome(False, f"{what}: loads in TensorFlow {TF_VERSION}, but outputs were "
                              f"not compared: the local side fails: {locally}")
    comparison = Comparison()
    for index in range(len(runs["runs"])):
        comparison.add(compare(arrays.load(out / f"local_{index}.npz"),
                               arrays.load(out / f"tf21_{index}.npz")))
    if not comparison.ok:
        return Outcome(False, f"{what}: loads in TensorFlow {TF_VERSION} but its outputs "
                              "differ from the local TensorFlow's", comparison.problems,
                       comparison.max_diff)
    return Outcome(True, f"{what}: loads and agrees in TensorFlow {TF_VERSION} "
                         f"(max |diff| {diff_text(comparison.max_diff)})",
                   max_diff=comparison.max_diff)


def _quiet_env() -> dict[str, str]:
    # TensorFlow's C++ logs (CPU features, oneDNN) would bury the verdicts; errors still
    # reach the result files and a crash's stderr is shown.
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}


def _stage(folder: Path) -> str:
    try:
        return (folder / "stage").read_text()
    except OSError:
        return "start"


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _tail(text: str, lines: int = 3) -> str:
    kept = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return " | ".join(kept[-lines:]) or "no output"
