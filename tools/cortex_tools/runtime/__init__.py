"""A local runtime for one API of a Cortex 0.17 config, with a cluster replica's model.

Cortex 0.17's own local environment always runs 1 worker with 1 thread. A replica on a
cluster runs ``workers_per_replica`` processes, each building ``PythonPredictor`` on its
main thread and calling ``predict`` from a pool of ``threads_per_worker`` threads. This
package reproduces the cluster's model on this machine (../shared/cortex-0.17.md s. 1-3):

- ``config``: the API to serve, read through ``cortex_config.check_file``.
- ``errors``: start-up failures, each with the one line a user is shown.
- ``predictor_loader``: the predictor file, loaded and checked as Cortex checks it.
- ``executor``: the predict pool, exactly ``threads_per_worker`` threads.
- ``app``: the ASGI app: routes, arguments, return values, errors, CORS.
- ``payload``: the payload by Content-Type; ``request_body`` reads a body within its size
  and time limits; ``json_payload`` parses JSON without stalling the event loop.
- ``limits``: what a client may send, and how long it may take.
- ``client_errors``: the runtime's own 4xx answers, JSON ``{"error": ...}``, bounded.
- ``in_flight``: 503 past Cortex's per-worker limit, counting requests in flight.
- ``protocol``: uvicorn's httptools protocol with a head timeout and size limit.
- ``logs``: log format and the per-request access line, with a 4xx's reason.
- ``worker``: one worker process: predictor on its main thread, then uvicorn, heartbeats.
- ``supervisor``: the parent's watch: start-up, restarts of dead or silent workers.
- ``restarts``: when a worker is restarted, and when the server gives up.
- ``server``: the parent: the API, the port, the workers' plans.
"""

