"""`python -m bench` (with scripts/ on the path): the same as scripts/bench/run.py."""

import sys

from bench.run import main

sys.exit(main())
