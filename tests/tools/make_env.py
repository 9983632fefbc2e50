"""The environment for a test that runs make itself. An enclosing `make test` passes
MAKEFLAGS and MAKELEVEL down (its command-line variables too): a make run under them is a
sub-make, prints "make[1]: Entering directory ..." around its output and takes the outer
variables. Without them, make runs as the user runs it from a shell."""

from __future__ import annotations

import os

MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


def as_from_a_shell(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in MAKE_VARIABLES}
    return {**env, **extra}
