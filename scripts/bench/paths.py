"""Where things are: the repository, its model and payload, the runtime's entry point."""

from __future__ import annotations

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
SCRIPTS = BENCH_DIR.parent
ROOT = SCRIPTS.parent
MODEL_DIR = ROOT / "model"
PREDICTOR_FILE = ROOT / "predictor.py"
SHIPPED_CONFIG = ROOT / "cortex.yaml"
SAMPLE = ROOT / "sample.json"
SERVE = SCRIPTS / "serve.py"
NOOP_CONFIG = BENCH_DIR / "noop_project" / "cortex.yaml"
WRK_SCRIPT = BENCH_DIR / "post_count.lua"
