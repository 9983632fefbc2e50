"""The TF 2.1 child process: ctypes and numpy only, never the local TensorFlow.

    python -m cortex_tools.tf21.runner JOB_DIR

JOB_DIR/job.json says what to do:

- {"task": "op-list"}: write TF 2.1's registered ops (TF_GetAllOpList) to "out";
- {"task": "check", "plan": ..., "runs": [...]}: import JOB_DIR/graph.pb, start a session,
  run the restore and init ops of the plan (load.py), then each recorded Session.run, fed
  JOB_DIR/feed_N.npz, writing TF 2.1's results to JOB_DIR/tf21_N.npz;
- {"task": "c-loader", "path": ...}: load a SavedModel with TF_LoadSessionFromSavedModel.

It writes JOB_DIR/result.json: {"version", "ok", "stage", "code", "message"}. Before each
stage it writes JOB_DIR/stage, so that when TensorFlow aborts the process (a CHECK failure)
the parent still knows where.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cortex_tools.tf21 import arrays
from cortex_tools.tf21.capi import Library, Session, TFError, load_saved_model_c


def main(job_dir: Path) -> int:
    job = json.loads((job_dir / "job.json").read_text())
    result = {"ok": True, "stage": None, "code": None, "message": None}

    def stage(name: str) -> None:
        result["stage"] = name
        (job_dir / "stage").write_text(name)

    try:
        stage("load library")
        library = Library(Path(job["library"]), Path(job["shim"]) if job["shim"] else None)
        result["version"] = library.version()
        if job["task"] == "op-list":
            Path(job["out"]).write_bytes(library.op_list())
        elif job["task"] == "c-loader":
            stage("load SavedModel")
            load_saved_model_c(library, job["path"], ["serve"])
        else:
            check(job_dir, job, library, stage)
    except TFError as e:
        result.update(ok=False, code=e.code, message=e.message)
    except (KeyError, TypeError, ValueError) as e:  # a name or type TF 2.1's graph lacks
        result.update(ok=False, code="CHECK", message=str(e).strip("'\""))
    (job_dir / "result.json").write_text(json.dumps(result))
    return 0


def check(job_dir: Path, job: dict, library: Library, stage) -> None:
    plan = job["plan"]
    stage("import")
    session = Session(library, (job_dir / "graph.pb").read_bytes())
    try:
        stage("session")
        session.start(bytes.fromhex(job.get("config") or ""))
        if plan["restore_op"]:
            stage("restore")
            session.run({plan["filename_tensor"]: _scalar(plan["variables_prefix"])}, [],
                        [plan["restore_op"]])
        if plan["init_op"]:
            stage("init")
            session.run({name: _scalar(path) for name, path in plan["init_feeds"].items()},
                        [], [plan["init_op"]])
        for index, run in enumerate(job["runs"]):
            stage(f"run {index + 1}")
            feeds = arrays.load(job_dir / f"feed_{index}.npz")
            tensors = [name for name in run["fetches"] if ":" in name]
            targets = [name for name in run["fetches"] if ":" not in name]
            values = session.run({name: feeds[name] for name in run["feeds"]}, tensors,
                                 targets)
            arrays.save(job_dir / f"tf21_{index}.npz", dict(zip(tensors, values, strict=True)))
    finally:
        session.close()


def _scalar(text: str):
    import numpy as np

    value = np.empty((), dtype=object)
    value[()] = text.encode()
    return value


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
