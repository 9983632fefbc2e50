"""The in-process timings of the bench, for both stacks: this module is Python 3.6 syntax
with the standard library only, so that the image stack (.venv-image) runs the very same
code on its own Python 3.6 and TensorFlow 2.1.0 (image_stack/py36/figures.py loads it).

- rates: N threads call ``predict(sample)`` until a shared deadline: calls/s, and CPU per
  call (os.times: all of this process, TensorFlow's own threads included).
- strategy_cost: each of tf_session's strategies around a no-op, against
  ``graph.as_default()`` alone and the seed page's enter-once flag; timeit loops on the
  calling thread (call it on a non-main one, as Cortex's predict pool), median of repeats.
- batch_cost: one sess.run of the sample's example against one of `size` of them.
- own_cost: predict(sample) against the bare run of its example (the same fetches and feed,
  straight to the session's callable, as predict runs it): what the template adds to the
  model's run; and sess.run of that feed, which predict no longer pays.
"""
import os
import statistics
import threading
import time
import timeit
from functools import partial

ROUNDS = 3  # rate rounds, each over every thread count: a busy spell hits them all
VARIANT_S = 0.02  # each variant's loop in a repeat lasts about this long


def tf_session_model(predictor):
    """The predictor's tf_session.Model, if it holds one (else it drives TF itself)."""
    return next((v for v in vars(predictor).values() if type(v).__name__ == "Model"
                 and type(v).__module__ == "tf_session"), None)


def rates(call, threads, seconds):
    """threads -> calls/s, µs per call (1/rate) and CPU µs per call, medians of ROUNDS."""
    runs = {t: [] for t in threads}
    for _ in range(ROUNDS):
        for count in threads:
            runs[count].append(_rate(call, count, seconds / ROUNDS))
    found = {}
    for count, measured in runs.items():
        rate = statistics.median(r[0] for r in measured)
        found[str(count)] = {"calls_per_s": round(rate, 1), "us_per_call": round(1e6 / rate, 1),
                             "cpu_us_per_call": round(statistics.median(r[1] for r in measured), 1)}
    return found


def _cpu_s():
    user, system = os.times()[:2]  # this process's, every thread's
    return user + system


def _rate(call, threads, seconds):
    start, counts, deadline = threading.Barrier(threads + 1), [0] * threads, [0.0]

    def loop(index):
        call()  # a thread's first call may enter defaults: not part of the rate
        start.wait()
        while time.perf_counter() < deadline[0]:
            call()
            counts[index] += 1

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    cpu0, wall0 = _cpu_s(), time.perf_counter()
    deadline[0] = wall0 + seconds
    start.wait()
    for thread in pool:
        thread.join()
    wall, cpu = time.perf_counter() - wall0, _cpu_s() - cpu0
    return sum(counts) / wall, cpu / max(sum(counts), 1) * 1e6


class SeedPageFlag:
    """The seed page's enter-once, literally: a flag on the instance, and
    ``sess.__enter__()`` on the first call (right only at threads_per_worker 1)."""

    def __init__(self, sess):
        self.sess, self.default_graph_loaded = sess, False

    def run(self, fn):
        if not self.default_graph_loaded:
            self.sess.__enter__()
            self.default_graph_loaded = True
        return fn(self.sess)


def noop(sess, arg=None):
    """The user's inference minus the inference: what is left is the strategy's cost. (A
    strategy calls fn(sess, arg): tf_session's own call, one argument and no packing.)"""


def strategy_cost(model, strategies, repeats):
    """ns per call of each variant over the bare ``noop(sess)``, paired within a repeat."""
    import tensorflow as tf

    # A session of its own on the model's graph: a Session enters as a default only once.
    flag = SeedPageFlag(tf.compat.v1.Session(graph=model.graph))
    sess, graph = model.sess, model.graph

    def as_default():
        with graph.as_default():
            noop(sess)

    # Every variant is one partial's call, so that its own cost cancels out in the pairing.
    variants = {"none": partial(noop, sess)}
    variants.update((s, partial(getattr(model, "_run_" + s), noop)) for s in strategies)
    variants["graph_as_default"] = partial(as_default)
    variants["instance_flag"] = partial(flag.run, noop)  # last: it stays entered, on top
    timers = {v: timeit.Timer(fn) for v, fn in variants.items()}
    calls = {v: int(min(max(VARIANT_S / max(t.timeit(200) / 200, 1e-9), 200), 200000))
             for v, t in timers.items()}  # those first 200 calls warm each variant up too
    over_bare = {v: [] for v in timers}
    try:
        for repeat in range(repeats):
            order = list(timers)[repeat % len(timers):] + list(timers)[:repeat % len(timers)]
            ns = {v: timers[v].timeit(calls[v]) / calls[v] * 1e9 for v in order}
            for variant in timers:
                over_bare[variant].append(ns[variant] - ns["none"])
    finally:
        if flag.default_graph_loaded:  # exit on the thread that entered it
            flag.sess.__exit__(None, None, None)
        flag.sess.close()
    return {"ns": {v: round(statistics.median(x), 1) for v, x in over_bare.items()},
            "bare_call_ns": round(ns["none"], 1), "repeats": repeats}


def _example_of(model, call):
    """The sample's example as predict hands it to tf_session's _run_examples (None when
    predict does not go through Model.predict)."""
    run, seen = model._run_examples, []
    model._run_examples = lambda examples: seen.append(examples[0]) or run(examples)
    try:
        call()  # the sample's example, as predictor.py's to_inputs makes it
    finally:
        del model._run_examples
    return seen[0] if seen else None


def own_cost(model, call, repeats):
    """µs of predict(sample) and of the bare run of its example, as predict runs it
    (tf_session's session callable, fed by tensor name), paired within each repeat,
    medians: their difference is the template's own cost per request. Also sess.run of the
    same feed against that run: what the callable saves. None when predict does not go
    through Model.predict."""
    example = _example_of(model, call)
    if example is None or not hasattr(model, "_fetches"):
        return None
    feed = {model._tensor_name(name): value[None] for name, value in example.items()}
    fetches, sess = model._fetches, model.sess
    run, values = model._session_callable(tuple(feed)), list(feed.values())

    def bare():
        return run(*values)

    def sess_run():
        return sess.run(fetches, feed)

    times = _paired(call, bare, repeats)
    versus = _paired(sess_run, bare, repeats)
    return {"us_predict": _median_us(t[0] for t in times),
            "us_run": _median_us(t[2] for t in times),
            "us_own": _median_us(t[0] - t[2] for t in times),
            "us_sess_run": _median_us(t[0] for t in versus)}


def batch_cost(model, call, size, repeats):
    """µs of the model's sess.run for one example of the sample and for `size` of them,
    paired within each repeat (medians): their ratio bounds what batching can give, since
    `size` callers' examples in one batch then cost `ratio` times one's. None when predict
    does not go through Model.predict (it drives the session itself: run_with_defaults,
    model.run): then nothing batches."""
    cost = BatchCost.of(model, call, size)
    if cost is None:
        return None
    cost.sample(repeats)
    return cost.medians()


class BatchCost:
    """batch_cost's pairs, sampled as often as asked and summed up by their medians: the
    bench samples it again between its served rounds, so that the model's cost and the
    server's CPU per request it is set against come from the same minutes."""

    def __init__(self, run, example, size):
        self.run, self.example, self.size, self.times = run, example, size, []

    @classmethod
    def of(cls, model, call, size):
        """None when predict does not go through Model.predict."""
        example = _example_of(model, call)
        return None if example is None else cls(model._run_examples, example, size)

    def sample(self, repeats):
        run, example, size = self.run, self.example, self.size  # tf_session's: stack, run, split
        self.times += _paired(lambda: run([example]), lambda: run([example] * size), repeats)

    def medians(self):
        times = self.times
        us_one, us_many = _median_us(t[0] for t in times), _median_us(t[2] for t in times)
        # CPU as well as wall time: the Amdahl bound sets the model's CPU against the
        # server's CPU per request (TensorFlow's own threads count, as they do there).
        return {"size": self.size, "us_1": us_one, "us_batch": us_many,
                "ratio": round(us_many / us_one, 2), "cpu_us_1": _median_us(t[1] for t in times),
                "cpu_us_batch": _median_us(t[3] for t in times), "repeats": len(times)}


def _paired(first, second, repeats):
    """Per repeat, (wall s, CPU s) per call of first, then the same of second: each timed
    over about 20 ms of calls, the two in turn, so that the machine's drift hits both."""
    timers = (timeit.Timer(first), timeit.Timer(second))
    loops = max(int(0.02 / max(timers[0].timeit(20) / 20, 1e-9)), 5)  # ~20 ms per timing
    timers[1].timeit(20)
    return [_timed(timers[0], loops) + _timed(timers[1], loops) for _ in range(repeats)]


def _median_us(seconds):
    return round(statistics.median(seconds) * 1e6, 1)


def _timed(timer, loops):
    """(wall s, process CPU s) per call of timer's statement, over `loops` calls."""
    cpu = time.process_time()
    wall = timer.timeit(loops)
    return wall / loops, (time.process_time() - cpu) / loops
