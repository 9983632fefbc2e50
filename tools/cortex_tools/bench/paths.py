"""Where things are: the repository, its model and payload, the runtime's entry point."""

from __future__ import annotations

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parents[2]  # the project: tools/cortex_tools/bench -> .
MODEL_DIR = ROOT / "model"
PREDICTOR_FILE = ROOT / "predictor.py"
SHIPPED_CONFIG = ROOT / "cortex.yaml"
SAMPLE = ROOT / "sample.json"
SERVE = ("-m", "cortex_tools.runtime")  # the local runtime, as a python command
NOOP_CONFIG = BENCH_DIR / "noop_project" / "cortex.yaml"
WRK_SCRIPT = BENCH_DIR / "post_count.lua"
