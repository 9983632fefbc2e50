"""Which stack the tests run on. `make test` runs them on two: the local one (Python
3.10+, TensorFlow 2.21) and the Cortex image's own (.venv-image: Python 3.6, TensorFlow
2.1.0, numpy 1.18.4, ...), whose pytest launcher sets TEMPLATE_TEST_STACK=image."""

import os
import sys

IMAGE_STACK = os.environ.get("TEMPLATE_TEST_STACK") == "image" or sys.version_info < (3, 7)

