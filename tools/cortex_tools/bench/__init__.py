"""`make bench`: which setting serves the user's own API fastest here, within a latency
bound (run.py says how to run it). One module per job:

- ``plan``: the full and the quick plan.      ``setting``: one setting, as cortex.yaml says it.
- ``served_copy``: what `cortex deploy` uploads, copied, with a config per setting.
- ``server``: the local runtime as a subprocess: ready line, CPU, RSS, exit lines.
- ``wrk`` + ``post.lua``: one timed load, statuses counted.   ``rounds``: rows taking turns.
- ``inprocess``: predict(sample) in a loop; strategy cost per call.
- ``sweep``, ``batching``, ``soak`` (and overload): the served sections.
- ``heavy_model``: a dense model generated at bench time, as a project of its own.
- ``floors``: a no-op predictor served by the runtime and by a Cortex-like serve.py.
- ``amdahl``: what batching can give at all.
- ``analysis``: the pick, the recommendation, the targets.   ``report``: report.md.
- ``run``: the command line, the sections in order, what the machine is.
"""
