"""Check the project against the Cortex image's own TensorFlow 2.1.0.

    python -m cortex_tools.tf21 check [CONFIG...]
        every API of every cortex*.yaml here (or of the files named): its model loaded as
        the image loads it, run on the feed its predictor builds for sample.json, outputs
        compared with the local TensorFlow's; one line per API
    python -m cortex_tools.tf21 check-model PATH [--signature S] [--feed FILE.npz]
                                                 [--fetch NAME...]
        one model (SavedModel folder, frozen .pb, checkpoint): fed FILE.npz (keys: tensor
        names or signature inputs) or made-up values, fetching the signature's outputs, the
        --fetch tensors or the graph's sink tensors
    python -m cortex_tools.tf21 api [FILE...]
        every TF attribute chain, call keyword and protobuf field of the uploaded .py files
        (or of the files named) exists in TF 2.1.0
    python -m cortex_tools.tf21 fix-graph IN.pb OUT.pb
        a frozen graph without the default-valued attributes TF 2.1 does not know, kept a
        frozen graph (make convert does this and more, and writes a SavedModel)

Exit status 0 when everything passes, 1 otherwise. The first run fetches the
tensorflow-cpu 2.1.0 wheel (105 MB) into a user cache folder; without it, or without a C
compiler, one line says what is missing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cortex_tools import TOOLS_PYTHON
from cortex_tools.tf21 import TF_VERSION
from cortex_tools.tf21.wheel import SetupError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cortex_tools.tf21",
                                     description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="every API's model in TF 2.1.0")
    check.add_argument("configs", nargs="*", metavar="CONFIG")
    model = commands.add_parser("check-model", help="one model in TF 2.1.0")
    model.add_argument("path")
    model.add_argument("--signature")
    model.add_argument("--feed", metavar="FILE.npz")
    model.add_argument("--fetch", action="append", metavar="NAME", default=[])
    api = commands.add_parser("api", help="the uploaded code's TF uses exist in TF 2.1.0")
    api.add_argument("files", nargs="*", metavar="FILE")
    fix = commands.add_parser("fix-graph", help="strip a frozen graph for TF 2.1.0")
    fix.add_argument("input", type=Path)
    fix.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    try:
        return {"check": _check, "check-model": _check_model, "api": _api,
                "fix-graph": _fix_graph}[args.command](args)
    except SetupError as e:
        print(f"cannot check against TensorFlow {TF_VERSION}: {e}", flush=True)
        return 1


def _check(args: argparse.Namespace) -> int:
    from cortex_tools.config_check import check_file
    from cortex_tools.tf21 import check

    configs = [Path(c) for c in args.configs] or sorted(
        Path().glob("cortex*.yaml"), key=lambda p: (p.name != "cortex.yaml", p.name))
    if not configs:
        print(f"no cortex*.yaml in {Path.cwd()} (name config files, or run in the project)")
        return 1
    apis, ok = [], True
    for config in configs:
        result = check_file(config)
        if not result.ok:
            errors = len(result.errors)
            print(f"{config}: not a valid Cortex 0.17 config ({errors} error"
                  f"{'' if errors == 1 else 's'}: {TOOLS_PYTHON} -m cortex_tools.config_check "
                  f"{config})")
            ok = False
            continue
        apis += [(config, api["name"]) for api in result.apis]
    prepared = check.setup()
    said: dict[tuple, str] = {}  # a failure's words -> the first API they were printed for
    for name, outcome in check.check_apis(apis, prepared):
        # APIs that share a model fail with the same words: printed once, then named.
        words = (outcome.line.split(": ", 1)[-1], *outcome.details)
        if not outcome.ok and words in said:
            print(f"api {name}: fails as api {said[words]} does (the same words, above)",
                  flush=True)
        else:
            print("\n".join(outcome.lines()), flush=True)
            said.setdefault(words, name)
        ok = ok and outcome.ok
    return 0 if ok else 1


def _check_model(args: argparse.Namespace) -> int:
    from cortex_tools.tf21 import check

    outcome = check.check_model(args.path, check.setup(), args.signature, args.feed,
                                args.fetch)
    print("\n".join(outcome.lines()), flush=True)
    return 0 if outcome.ok else 1


def _api(args: argparse.Namespace) -> int:
    from cortex_tools.tf21 import wheel
    from cortex_tools.tf21.api_check import check_file
    from cortex_tools.tf21.api_tree import ApiTree

    files = [(Path(f), f) for f in args.files] or _uploaded_python(Path.cwd())
    if not files:
        print(f"no uploaded .py file in {Path.cwd()}")
        return 1
    tree = ApiTree(wheel.ensure().root)
    ok = True
    for path, shown in files:
        try:
            report = check_file(path, shown, tree)
        except SyntaxError as e:
            print(f"{shown}:{e.lineno}: cannot be parsed: {e.msg}")
            ok = False
            continue
        except (OSError, UnicodeDecodeError) as e:
            print(f"{shown}: cannot be read: {e}")
            ok = False
            continue
        for problem in report.problems:
            print(problem.format())
        if report.problems:
            ok = False
            print(f"{shown}: {len(report.problems)} of {report.uses} TensorFlow uses are not "
                  f"in TensorFlow {TF_VERSION}")
        elif report.uses:
            print(f"{shown}: {report.uses} TensorFlow uses, all in TensorFlow {TF_VERSION}")
        else:
            print(f"{shown}: no TensorFlow use")
    return 0 if ok else 1


def _uploaded_python(root: Path) -> list[tuple[Path, str]]:
    """Every .py file `cortex deploy` uploads from the project `root`."""
    from cortex_tools.config_check.project import Project

    configs = sorted(root.glob("cortex*.yaml"))
    project = Project(root, configs[0] if configs else root / "cortex.yaml")
    return [(root / relative, str(relative)) for relative in sorted(project.uploaded_files())
            if relative.suffix == ".py"]


def _fix_graph(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before the local TensorFlow loads
    from cortex_tools.tf21 import check, load
    from cortex_tools.tf21.diagnose import diagnose
    from cortex_tools.tf21.fix_graph import fix_graph

    consumer_ops = load.read_op_list(check.setup().op_list)
    result = fix_graph(args.input, args.output, consumer_ops)
    if not result.ok:
        found = diagnose("import", None, "", "frozen graph", result.remaining,
                         model_path=str(args.input))
        print(f"{args.input}: no mechanical fix: {found.headline}")
        for detail in found.details[1:]:
            print("  " + detail)
        return 1
    removed = ", ".join(result.removed[:5]) + (
        f" and {len(result.removed) - 5} more" if len(result.removed) > 5 else "")
    print(f"{args.output}: {args.input} without {len(result.removed)} default-valued "
          f"attributes unknown to TensorFlow {TF_VERSION}" + (f" ({removed})" if removed
                                                              else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
