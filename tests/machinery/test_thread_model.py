"""The seed page's failures, reproduced under Cortex's thread model, next to the fixes.

Cortex 0.17 builds PythonPredictor on a worker's main thread and calls predict() from a
ThreadPoolExecutor(threads_per_worker) (../shared/cortex-0.17.md section 1). So does every
test here: the predictor is built on the test's (main) thread, predict runs in a pool.
The model is tests/machinery/models.py's SavedModel, so these hold for any model.
"""

import gc
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import tf_session
from tests.machinery.two_inputs import payloads
from tests.machinery.user_code import (
    USER_CODE,
    AddsOpsPerCall,
    ThroughPredict,
    UsesDefaultSession,
    with_enter_on_each_thread,
    with_page_instance_flag,
    without_strategy,
)

FEED_ERROR = r"Cannot interpret feed_dict key as Tensor: .* is not an element of this graph"
NO_SESSION_ERROR = r"Cannot evaluate tensor using `eval\(\)`: No default session is registered"
NOT_REENTRANT = "Session context managers are not re-entrant"


@pytest.fixture(scope="module")
def model_dir(formats):
    return formats["saved_model_serving_default"].location


@pytest.fixture(scope="module")
def sample():
    return payloads(1, seed=99)[0]


def config(strategy="per_request", model="model", **extra):
    conf = {"model": model, "session_strategy": strategy, "finalize_graph": False}
    conf.update(extra)
    return conf


def call_on_distinct_threads(predictor, payload_list):
    """predict() for each payload, each on its own pool thread, all threads at once.

    A barrier holds every task until all have started, so no thread can take two:
    len(payload_list) distinct threads are forced rather than hoped for.
    """
    barrier = threading.Barrier(len(payload_list))

    def task(payload):
        barrier.wait(timeout=30)
        return predictor.predict(payload)

    with ThreadPoolExecutor(len(payload_list)) as pool:
        futures = [pool.submit(task, p) for p in payload_list]
        return [f.exception() or f.result() for f in futures]


@pytest.fixture
def page_leftovers(unraisable):
    """The page's patterns leave sess.__enter__() contexts entered on pool threads. When the
    session is collected later, on another thread, exiting them fails inside TensorFlow
    ("pop from empty list"). Collect them in the test that made them, not a later one."""
    yield
    gc.collect()
    reported = unraisable()
    assert all(r.startswith(("IndexError", "AssertionError")) for r in reported), reported


# --- the failure, reproduced -------------------------------------------------------------


def test_no_strategy_op_per_call_fails_on_the_pool_thread(model_dir, sample):
    predictor = without_strategy(AddsOpsPerCall(config(model=model_dir)))
    with ThreadPoolExecutor(1) as pool, pytest.raises(TypeError, match=FEED_ERROR):
        pool.submit(predictor.predict, sample).result()


def test_no_strategy_default_session_fails_on_the_pool_thread(model_dir, sample):
    predictor = without_strategy(UsesDefaultSession(config(model=model_dir)))
    with ThreadPoolExecutor(1) as pool, pytest.raises(ValueError, match=NO_SESSION_ERROR):
        pool.submit(predictor.predict, sample).result()


def test_no_strategy_works_on_the_thread_that_built_it_so_the_bug_hides(model_dir, sample):
    """Why the bug is easy to miss: called where __init__ ran, it works (if that thread
    has the graph as default, as scripts and notebooks do)."""
    predictor = without_strategy(AddsOpsPerCall(config(model=model_dir)))
    expected = ThroughPredict(config(model=model_dir)).predict(sample)
    with predictor.model.graph.as_default(), predictor.model.sess.as_default():
        assert predictor.predict(sample) == expected


@pytest.mark.usefixtures("page_leftovers")
def test_page_instance_flag_works_with_one_thread(model_dir):
    predictor = with_page_instance_flag(AddsOpsPerCall(config(model=model_dir)))
    inputs = payloads(50)
    with ThreadPoolExecutor(1) as pool:
        answers = list(pool.map(predictor.predict, inputs))
    reference = ThroughPredict(config(model=model_dir))
    assert answers == [reference.predict(p) for p in inputs]


@pytest.mark.usefixtures("page_leftovers")
@pytest.mark.parametrize("user_code", [AddsOpsPerCall, UsesDefaultSession])
def test_page_instance_flag_fails_with_four_threads(model_dir, user_code):
    predictor = with_page_instance_flag(user_code(config(model=model_dir)))
    results = call_on_distinct_threads(predictor, payloads(4))
    failures = [r for r in results if isinstance(r, Exception)]
    # The one thread that entered the session works; the other three have no defaults
    # (or raced into __enter__ a second time).
    assert len(failures) == 3
    for failure in failures:
        assert any(
            re.search(pattern, str(failure))
            for pattern in (FEED_ERROR, NO_SESSION_ERROR, NOT_REENTRANT)
        ), failure


@pytest.mark.usefixtures("page_leftovers")
def test_sess_enter_once_on_each_thread_fails(model_dir):
    predictor = with_enter_on_each_thread(AddsOpsPerCall(config(model=model_dir)))
    results = call_on_distinct_threads(predictor, payloads(4))
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 3
    assert all(isinstance(f, RuntimeError) and NOT_REENTRANT in str(f) for f in failures)


# --- the fix: both strategies, any thread count, any kind of user code ------------------

# Code that adds ops per call costs more on every call, as the graph grows (TensorFlow
# prepares a new executor over the whole graph for each new placeholder): the cost of N
# calls grows as N squared, so it gets 2,000 calls (~30 s at 1 thread), the others 4,000.
CALLS = {"through_predict": 4000, "uses_default_session": 4000, "adds_ops_per_call": 2000}


@pytest.fixture(scope="module")
def sequential_answers(model_dir):
    """The template's answer for each input, one call at a time on one thread."""
    inputs = payloads(max(CALLS.values()), seed=3)
    predictor = ThroughPredict(config(model=model_dir))
    with ThreadPoolExecutor(1) as pool:
        return inputs, list(pool.map(predictor.predict, inputs))


@pytest.mark.parametrize("user_code", sorted(USER_CODE))
@pytest.mark.parametrize("threads", [1, 4, 16])
@pytest.mark.parametrize("strategy", tf_session.SESSION_STRATEGIES)
def test_strategy_is_correct_under_concurrent_load(
        model_dir, sequential_answers, strategy, threads, user_code):
    predictor = USER_CODE[user_code](config(strategy, model=model_dir))
    inputs, expected = (items[:CALLS[user_code]] for items in sequential_answers)
    seen_threads = set()
    barrier = threading.Barrier(threads)

    def task(index):
        if index < threads:
            barrier.wait(timeout=30)  # forces every pool thread into use
        seen_threads.add(threading.get_ident())
        return predictor.predict(inputs[index])

    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(task, range(len(inputs))))

    assert len(seen_threads) == threads
    assert [i for i, answer in enumerate(answers) if answer != expected[i]] == []


@pytest.mark.parametrize("user_code", sorted(USER_CODE))
@pytest.mark.parametrize("strategy", tf_session.SESSION_STRATEGIES)
def test_a_fresh_thread_for_every_call(model_dir, strategy, user_code, unraisable):
    """A runtime that retires threads and starts new ones: each new thread is set up anew,
    a retiring thread cleans up quietly, and a long-lived thread keeps its defaults."""
    predictor = USER_CODE[user_code](config(strategy, model=model_dir))
    inputs = payloads(300, seed=7)
    expected = [predictor.predict(p) for p in inputs]  # here, on the test's thread

    with ThreadPoolExecutor(1) as long_lived:
        assert long_lived.submit(predictor.predict, inputs[0]).result() == expected[0]
        answers = [None] * len(inputs)
        for i, payload in enumerate(inputs):
            thread = threading.Thread(target=lambda i=i, p=payload: answers.__setitem__(
                i, predictor.predict(p)))
            thread.start()
            thread.join()
        assert answers == expected
        assert long_lived.submit(predictor.predict, inputs[1]).result() == expected[1]
    assert unraisable() == []


def test_once_per_thread_enters_each_thread_once(model_dir, sample, monkeypatch):
    predictor = ThroughPredict(config("once_per_thread", model=model_dir))
    entered = []
    real_enter = tf_session.enter_defaults_for_this_thread
    monkeypatch.setattr(tf_session, "enter_defaults_for_this_thread",
                        lambda sess: (entered.append(threading.get_ident()), real_enter(sess)))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: predictor.predict(sample), range(400)))
    assert len(entered) == len(set(entered)) <= 4


# --- the graph stays the size it was -----------------------------------------------------


@pytest.mark.parametrize("strategy", tf_session.SESSION_STRATEGIES)
def test_inference_through_predict_adds_no_ops(model_dir, sample, strategy):
    predictor = ThroughPredict({"model": model_dir, "session_strategy": strategy})
    graph = predictor.model.graph
    ops_before = len(graph.get_operations())
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: predictor.predict(sample), range(1000)))
    assert len(graph.get_operations()) == ops_before
    assert graph.finalized


@pytest.mark.parametrize("strategy", tf_session.SESSION_STRATEGIES)
def test_adding_ops_to_a_finalized_graph_is_loud(model_dir, sample, strategy):
    class Grows(AddsOpsPerCall):
        pass

    predictor = Grows({"model": model_dir, "session_strategy": strategy})  # finalized
    with ThreadPoolExecutor(1) as pool, pytest.raises(RuntimeError, match="Graph is finalized"):
        pool.submit(predictor.predict, sample).result()
