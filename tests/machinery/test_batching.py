"""Server-side batching: concurrent predict calls share one sess.run, and each caller gets
exactly its own row, its own 400, or its own batch's error; nobody waits for ever."""

import concurrent.futures
import io
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import tf_session
from tests.machinery.two_inputs import PythonPredictor, payloads

CALLS = 3000


def batched(location, strategy="per_request", max_batch_size=8, interval=0, **extra):
    return PythonPredictor({"model": location, "session_strategy": strategy,
                            "server_side_batching": {"max_batch_size": max_batch_size,
                                                     "batch_interval": interval}, **extra})


def record_batch_sizes(model):
    """Wraps the batcher's run: the size of every batch it runs, in order."""
    sizes = []
    run = model.batcher.run_examples

    def recording(examples):
        sizes.append(len(examples))
        return run(examples)

    model.batcher.run_examples = recording
    return sizes


def released_together(fn, items, threads):
    """fn(item) for every item from `threads` threads, all threads started at one barrier."""
    barrier = threading.Barrier(threads)

    def task(index):
        if index < threads:
            barrier.wait(timeout=30)
        return fn(items[index])

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(task, range(len(items))))


@pytest.fixture(scope="module")
def location(formats):
    return formats["saved_model_serving_default"].location


@pytest.fixture(scope="module")
def unbatched_answers(location):
    inputs = payloads(CALLS, seed=21)
    predictor = PythonPredictor({"model": location, "session_strategy": "per_request"})
    return inputs, [predictor.predict(p) for p in inputs]


@pytest.mark.parametrize("strategy", tf_session.SESSION_STRATEGIES)
def test_every_caller_gets_its_own_row(location, unbatched_answers, strategy):
    inputs, expected = unbatched_answers
    predictor = batched(location, strategy, max_batch_size=8)
    sizes = record_batch_sizes(predictor.model)
    answers = released_together(predictor.predict, inputs, threads=16)

    np.testing.assert_allclose([a["y"] for a in answers], [e["y"] for e in expected],
                               rtol=1e-6, atol=1e-6)
    assert sum(sizes) == CALLS and max(sizes) <= 8
    assert sum(1 for size in sizes if size > 1) > len(sizes) / 4  # batches really formed
    assert (predictor.model.batcher.batches, predictor.model.batcher.examples) == (
        len(sizes), CALLS)


def test_a_bad_payload_gets_its_own_400_and_never_reaches_a_batch(location, unbatched_answers):
    inputs, expected = unbatched_answers
    mixed = [{**p, "ids": "seven"} if i % 7 == 0 else p for i, p in enumerate(inputs[:1400])]
    predictor = batched(location, max_batch_size=8)
    sizes = record_batch_sizes(predictor.model)
    answers = released_together(predictor.predict, mixed, threads=16)

    for i, answer in enumerate(answers):
        if i % 7 == 0:
            assert answer.status_code == 400
            assert b"field ids must be an integer, got a string" in answer.body
        else:
            np.testing.assert_allclose(answer["y"], expected[i]["y"], rtol=1e-6, atol=1e-6)
    assert sum(sizes) == len(mixed) - len(range(0, len(mixed), 7))


def on_fresh_threads(fn, items):
    """fn(item) for every item, each on a thread of its own, all started before any joins."""
    results = [None] * len(items)

    def task(index):
        results[index] = fn(items[index])

    threads = [threading.Thread(target=task, args=(i,)) for i in range(len(items))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_fresh_thread_for_every_call(location, unbatched_answers):
    inputs, expected = unbatched_answers
    for strategy in tf_session.SESSION_STRATEGIES:
        predictor = batched(location, strategy, max_batch_size=4)
        answers = on_fresh_threads(predictor.predict, inputs[:200])
        np.testing.assert_allclose([a["y"] for a in answers], [e["y"] for e in expected[:200]],
                                   rtol=1e-6, atol=1e-6)


def test_an_output_without_a_batch_axis_fails_its_batch_without_a_hang(formats):
    written = formats["frozen_graph"]
    model = tf_session.load_model({"model": written.location, "session_strategy": "per_request",
                                   "server_side_batching": {"max_batch_size": 4},
                                   **written.config}, inputs=["x", "ids"], outputs=["scale"])
    results = released_together(
        lambda i: _outcome(model.predict, {}, lambda p: {"x": [i, 0, 0], "ids": 1},
                           lambda outputs: outputs), list(range(40)), threads=4)
    assert all(isinstance(r, tf_session.BatchError) for r in results)
    assert all("output scale has shape (2,) for a batch of" in str(r.__cause__) for r in results)
    assert model.batcher._queue == [] and not model.batcher._leading


def test_an_output_whose_length_is_the_batch_size_is_still_no_batch_axis(formats):
    """A batch of exactly 2 and an output of fixed shape (2,): each caller would get one of
    its items as its 'row' (the image stack's timing makes such batches; this test makes
    one for sure: the batch waits for 2)."""
    written = formats["frozen_graph"]
    model = tf_session.load_model({"model": written.location, "session_strategy": "per_request",
                                   "server_side_batching": {"max_batch_size": 2,
                                                            "batch_interval": 0.1},
                                   **written.config}, inputs=["x", "ids"], outputs=["scale"])
    sizes = record_batch_sizes(model)
    results = released_together(
        lambda i: _outcome(model.predict, {}, lambda p: {"x": [i, 0, 0], "ids": 1},
                           lambda outputs: outputs), [1, 2], threads=2)
    assert sizes == [2]
    assert all(isinstance(r, tf_session.BatchError) for r in results), results
    assert all("output scale has shape (2,) for a batch of 2" in str(r) for r in results)


def _outcome(fn, *args):
    try:
        return fn(*args)
    except Exception as e:
        return e


# --- the Batcher itself, with a run function the test controls ------------------------------


def echo_batcher(*, max_batch_size=4, interval=0.0, wait_limit=30.0, fail_on=None, gate=None,
                 running=None):
    """A Batcher whose run returns each example's own value doubled, records each batch's
    values, raises for a batch holding `fail_on`, and first sets `running` and waits on
    `gate` if given."""
    batches = []

    def run(examples):
        values = [int(e["v"]) if e["v"].ndim == 0 else e["v"].tolist() for e in examples]
        batches.append(values)
        if gate is not None:
            running.set()
            gate.wait(30)
        if fail_on is not None and fail_on in values:
            raise RuntimeError(f"the model failed on {fail_on}")
        return [{"v": e["v"] * 2} for e in examples]

    batcher = tf_session.Batcher(run, max_batch_size, interval, wait_limit)
    return batcher, batches


def example(value):
    return {"v": np.asarray(value)}


def test_a_failing_batch_fails_only_its_callers_and_later_batches_succeed(caplog):
    batcher, batches = echo_batcher(max_batch_size=4, fail_on=13)
    results = released_together(lambda v: _outcome(batcher.submit, example(v)),
                                list(range(200)), threads=8)
    failed_batch = next(b for b in batches if 13 in b)
    for value, result in zip(range(200), results):
        if value in failed_batch:
            assert isinstance(result, tf_session.BatchError)
            assert "the model failed on 13" in str(result)
            assert isinstance(result.__cause__, RuntimeError)
        else:
            assert int(result["v"]) == value * 2
    assert caplog.text.count("examples failed; each of its requests gets the error") == 1
    assert batches.index(failed_batch) < len(batches) - 1  # batches after it ran


def test_examples_of_other_shapes_run_in_batches_of_their_own():
    batcher, batches = echo_batcher(max_batch_size=8)
    shapes = [[1, 2], [1, 2, 3], [4], 5]
    items = [shapes[i % 4] for i in range(400)]
    results = released_together(lambda v: batcher.submit(example(v)), items, threads=8)
    assert [np.asarray(r["v"]).tolist() for r in results] == [
        (np.asarray(v) * 2).tolist() for v in items]
    for batch in batches:
        assert len({np.shape(v) for v in batch}) == 1, batch


class UnbufferedFd(io.RawIOBase):
    """What an unbuffered stdout (Cortex's run.sh exports PYTHONUNBUFFERED) hands its file
    descriptor: each write, kept."""

    def __init__(self):
        self.writes = []

    def writable(self):
        return True

    def write(self, data):
        self.writes.append(bytes(data).decode())
        return len(data)


def test_the_exit_line_is_one_write_as_the_workers_share_stdout(monkeypatch):
    batcher, batches = echo_batcher(max_batch_size=4)
    released_together(lambda v: batcher.submit(example(v)), list(range(40)), threads=4)
    fd = UnbufferedFd()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(fd, write_through=True))
    batcher.report()
    assert len(fd.writes) == 1, fd.writes  # print() wrote the newline apart
    match = re.fullmatch(r"tf_session: server_side_batching ran 40 requests in (\d+) batches "
                         r"\(mean (\d+\.\d\d), max_batch_size 4\)\n", fd.writes[0])
    assert match and int(match.group(1)) == len(batches), fd.writes
    assert match.group(2) == "%.2f" % (40 / len(batches))


def test_a_caller_waits_no_longer_than_the_limit_then_gets_a_clear_error():
    gate, running = threading.Event(), threading.Event()
    batcher, batches = echo_batcher(max_batch_size=1, wait_limit=0.5, gate=gate, running=running)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(batcher.submit, example(1))
        assert running.wait(30)  # the first batch is running, held at the gate
        with pytest.raises(tf_session.BatchError, match="no batch ran this request within 0.5 s"):
            batcher.submit(example(2))
        gate.set()
        assert int(first.result(timeout=30)["v"]) == 2
    assert batcher._queue == [] and not batcher._leading
    assert int(batcher.submit(example(3))["v"]) == 6  # and it serves on


def test_a_caller_in_a_stuck_batch_gets_the_clear_error_too():
    gate, running = threading.Event(), threading.Event()
    batcher, batches = echo_batcher(max_batch_size=2, interval=30.0, wait_limit=0.5,
                                    gate=gate, running=running)
    with ThreadPoolExecutor(2) as pool:
        calls = [pool.submit(_outcome, batcher.submit, example(v)) for v in (1, 2)]
        assert running.wait(30)  # both are in the batch, held at the gate
        done, _ = concurrent.futures.wait(calls, timeout=30, return_when="FIRST_COMPLETED")
        assert len(done) == 1  # the follower gave up; the leader is still in the batch
        gate.set()
        results = [c.result(timeout=30) for c in calls]
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], tf_session.BatchError), results
    assert "no batch ran this request within 0.5 s" in str(errors[0])
    assert [sorted(b) for b in batches] == [[1, 2]]
    assert batcher._queue == [] and not batcher._leading


def test_a_full_batch_runs_without_waiting_out_the_interval():
    batcher, batches = echo_batcher(max_batch_size=2, interval=5.0)
    started = time.monotonic()
    results = released_together(lambda v: batcher.submit(example(v)), [1, 2], threads=2)
    assert sorted(int(r["v"]) for r in results) == [2, 4]
    assert [sorted(batch) for batch in batches] == [[1, 2]]  # the leader waited for the 2nd
    assert time.monotonic() - started < 5.0  # the batch filled: no wait for the interval


def test_a_lone_call_waits_the_interval_from_its_arrival():
    batcher, batches = echo_batcher(max_batch_size=4, interval=0.2)
    started = time.monotonic()
    assert int(batcher.submit(example(4))["v"]) == 8
    assert time.monotonic() - started >= 0.2 and batches == [[4]]


def test_with_an_interval_a_lone_caller_waits_once_then_never():
    batcher, batches = echo_batcher(max_batch_size=4, interval=0.5)
    started = time.monotonic()
    assert int(batcher.submit(example(1))["v"]) == 2  # the first batch waits for 4
    first = time.monotonic()
    for value in range(2, 12):  # then each batch waits for as many as the last one held: 1
        assert int(batcher.submit(example(value))["v"]) == value * 2
    assert first - started >= 0.5
    assert time.monotonic() - first < 0.5  # ten calls, none of which waited out the interval
    assert batches == [[v] for v in range(1, 12)]


def test_with_an_interval_steady_callers_fill_every_batch():
    # Eight threads call without pause: each batch waits (at most 30 s) for as many callers
    # as the last one held, so all eight meet in every batch, batch after batch.
    batcher, batches = echo_batcher(max_batch_size=8, interval=30.0)  # no thread is late
    rounds = 25

    def calls(thread):
        return [int(batcher.submit(example(thread * 100 + k))["v"]) for k in range(rounds)]

    results = released_together(calls, list(range(8)), threads=8)
    assert results == [[(t * 100 + k) * 2 for k in range(rounds)] for t in range(8)]
    assert [sorted(batch) for batch in batches] == [
        [t * 100 + k for t in range(8)] for k in range(rounds)]


def test_with_interval_zero_a_lone_call_does_not_wait():
    batcher, batches = echo_batcher(max_batch_size=4, interval=0.0)
    for value in range(50):
        assert int(batcher.submit(example(value))["v"]) == value * 2
    assert batches == [[v] for v in range(50)]


def test_batching_leaves_no_thread_behind(location):
    before = {t.ident for t in threading.enumerate()}
    predictor = batched(location, max_batch_size=4)
    released_together(predictor.predict, payloads(100), threads=4)
    predictor.model.close()
    assert {t.ident for t in threading.enumerate()} - before == set()
    assert predictor.model.batcher._queue == []


@pytest.mark.parametrize(("interval", "seconds"), [(0, 0.0), (0.002, 0.002), ("2ms", 0.002),
                                                   ("500us", 0.0005), ("0.1s", 0.1)])
def test_batch_interval_takes_seconds_or_a_duration(location, interval, seconds):
    predictor = batched(location, max_batch_size=2, interval=interval)
    assert predictor.model.batcher.interval == pytest.approx(seconds)
