"""Local tooling for a Cortex 0.17 Python-predictor project; none of it is uploaded.

- ``runtime``: ``make serve``, one API served with a cluster replica's process and thread model.
- ``config_check``: ``make check``, Cortex 0.17's config rules and the template's own.
- ``bench``: ``make bench``.
- ``image_stack``: the Cortex image's own stack (.venv-image): ``make test``'s second run,
  ``make check``'s model tier, ``make bench``'s figures there.
"""

CORTEX_VERSION = "0.17.1"
"""The Cortex release whose runtime and config rules these tools follow."""
