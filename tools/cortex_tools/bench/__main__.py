"""`python -m cortex_tools.bench`: make bench."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before anything imports TensorFlow

from cortex_tools.bench.run import main  # noqa: E402

sys.exit(main())
