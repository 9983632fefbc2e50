"""A local runtime for one API of a Cortex 0.17 config, with a cluster replica's model.

Cortex 0.17's own local environment always runs 1 worker with 1 thread. A replica on a
cluster runs ``workers_per_replica`` processes, each building ``PythonPredictor`` on its
main thread and calling ``predict`` from a pool of ``threads_per_worker`` threads. This
package reproduces the cluster's model on this machine (../shared/cortex-0.17.md s. 1-3):

- ``config``: the API to serve, read through ``cortex_config.check_file``.
- ``errors``: start-up failures, each with the one line a user is shown.
- ``predictor_loader``: the predictor file, loaded and checked as Cortex checks it.
- ``executor``: the predict pool, exactly ``threads_per_worker`` threads.
- ``app``: the ASGI app: routes, payloads, arguments, return values, errors, CORS.
- ``logs``: log format and the per-request access line.
- ``worker``: one worker process: predictor on its main thread, then uvicorn.
- ``server``: the parent: port, worker processes, readiness line, signals.
"""

