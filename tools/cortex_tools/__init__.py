"""Local tooling for a Cortex 0.17 Python-predictor project; none of it is uploaded.

- ``runtime``: ``make serve``, one API served with a cluster replica's process and thread model.
- ``config_check``: ``make check``, Cortex 0.17's config rules and the template's own.
- ``bench``: ``make bench``.
- ``image_stack``: the Cortex image's own stack (.venv-image): ``make test``'s second run,
  ``make check``'s model tier, ``make bench``'s figures there.
- ``tf21``: the image's TensorFlow 2.1.0 through its C library (``make check``'s fallback
  without a Python 3.6), and the uploaded code's TensorFlow names against TF 2.1.0's.
- ``convert``: ``make convert``, a TensorFlow 2.x or Keras model made into one TF 2.1.0 serves.
"""

import os

CORTEX_VERSION = "0.17.1"
"""The Cortex release whose runtime and config rules these tools follow."""

# Every tool loads the local TensorFlow in this process or a child started from it. Without
# oneDNN's custom ops it computes as the image's TensorFlow 2.1.0 does (which had none by
# default), and it prints no oneDNN notice before its log level applies. Set it to 1 to
# compare.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

TOOLS_PYTHON = ".venv/bin/python"
"""How a command that a message prints runs these tools: the project's .venv (which make
sets up), from the project folder, where make runs. So the command runs as printed."""
