"""`python -m cortex_tools.bench`: make bench."""

import sys

from cortex_tools.bench.run import main

sys.exit(main())
