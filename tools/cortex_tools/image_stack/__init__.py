"""The Cortex image's own stack, for real: Python 3.6, tensorflow-cpu 2.1.0, numpy 1.18.4
and the image's other pins (requirements-image.txt) in .venv-image.

    python -m cortex_tools.image_stack setup [--python PATH]   make .venv-image (make does)
    python -m cortex_tools.image_stack test [PYTEST ARGS...]   make test: both stacks
    python -m cortex_tools.image_stack check [CONFIG...]       make check's model tier
    python -m cortex_tools.image_stack specs [PROJECT]         the APIs and payloads, as
                                                               JSON, for the 3.6 side

Modules: stack (find Python 3.6, make the venv), testrun (pytest on both stacks, one
summary), check (each API answered on the image stack against the local runtime),
figures (make bench's in-process figures there), specs (the project for the 3.6 side).
py36/ holds what runs ON the image stack, in Python 3.6 syntax (vermin checks it): the
project loaded as the image loads it (image_project), its answers from threads
(api_answers), what a client reads of an answer (client_reads, both stacks), the bench's
figures (figures, with bench/timing.py), the pytest launcher (run_pytest).
Without a Python 3.6 each command says so in one line and does what it can without it.
"""
