"""python -m cortex_tools.image_stack {setup,test,check,specs}: see the package's doc."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cortex_tools.image_stack import stack


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["test"]:  # every other argument is pytest's
        from cortex_tools.image_stack import testrun

        return testrun.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m cortex_tools.image_stack",
                                     description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    setup = commands.add_parser("setup", help="make .venv-image if it is not ready")
    setup.add_argument("--python", help="the Python 3.6 to use (default: $PYTHON36, "
                                        "python3.6 on PATH, pyenv's)")
    commands.add_parser("test", help="pytest on both stacks (arguments: pytest's)")
    check = commands.add_parser("check", help="each API answered on the image stack")
    check.add_argument("configs", nargs="*", metavar="CONFIG")
    specs = commands.add_parser("specs", help="the project's APIs and payloads as JSON")
    specs.add_argument("project", nargs="?", default=".")
    args = parser.parse_args(argv)
    if args.command == "setup":
        try:
            made = stack.setup(args.python)
        except stack.SetupError as e:
            print(f"error: {stack.NAME}: {e}")
            return 1
        if not made and os.environ.get("CI"):
            print(f"error: {stack.NAME}: CI runs the uploaded code's tests on the image "
                  "stack: give CI a Python 3.6")
            return 1
        return 0
    if args.command == "specs":
        from cortex_tools.image_stack.specs import project_json
        from cortex_tools.project import config_error_line
        from cortex_tools.runtime.errors import ConfigError

        try:
            print(project_json(Path(args.project).resolve()))
        except ConfigError as e:  # one line, for the image stack's tests to show
            print(f"error: {config_error_line(e)}", file=sys.stderr)
            return 1
        return 0
    from cortex_tools.image_stack import check as check_module

    return check_module.main([Path(c) for c in args.configs])


if __name__ == "__main__":
    sys.exit(main())
