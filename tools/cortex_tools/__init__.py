"""Local tooling for a Cortex 0.17 Python-predictor project; none of it is uploaded.

- ``runtime``: ``make serve``, one API served with a cluster replica's process and thread model.
- ``config_check``: ``make check``, Cortex 0.17's config rules and the template's own.
- ``bench``: ``make bench``.
- ``tf21``: ``make check``'s runs in the image's own TensorFlow 2.1.0.
- ``convert``: ``make convert``, a TensorFlow 2.x or Keras model made into one TF 2.1.0 serves.
"""

CORTEX_VERSION = "0.17.1"
"""The Cortex release whose runtime and config rules these tools follow."""
