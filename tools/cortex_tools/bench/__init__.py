"""`make bench`: what each session strategy costs, and how close the served API comes to
this machine's limits (issue 5).

One module per job:

- ``settings``: the two plans (full and ``--quick``): repeats, request counts, rows.
- ``machine``: cores, CPU model, versions, load: what a reader needs to compare runs.
- ``inprocess``: the bundled model's predictors, built in this process.
- ``overhead``: section 1, strategy ns per call (timeit, median of repeats).
- ``model_rate``: section 2, ``sess.run`` calls/s per thread count, throughput per batch.
- ``model_procs``: section 2 for several worker processes at once.
- ``gc_pause``: how long a full garbage collection stops a process holding the model.
- ``wrk_output``: parser of wrk's output (its text and our Lua script's result line).
- ``load``: runs wrk (installing it if it can) and measures one server: warm-up + runs.
- ``servers``: the servers under test as subprocesses (runtime, bare ASGI), with their CPU.
- ``rounds``: the servers of one configuration measured side by side, turn by turn.
- ``bare_app``: the minimal raw ASGI app, served by the same uvicorn.
- ``floors``: section 3, the runtime's no-op floor and the bare ASGI floor.
- ``served``: section 4, both strategies x threads x workers, the real model.
- ``analysis``: sections 5 and the targets: composed ideal, fractions, verdicts.
- ``plots`` / ``report``: the PNGs, report.md, summary.json and the one-screen summary.
- ``run``: the command line (``make bench``, ``make bench QUICK=1``).
"""
