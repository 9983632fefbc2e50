"""Every API of every cortex*.yaml answers each of the project's payloads the same from
any thread: built on the main thread, then called from threads_per_worker pool threads
and from 16, thousands of times, as a Cortex 0.17 worker calls it."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.template.answers import plain_answer, same_answer
from tests.template.conftest import API_IDS, PAYLOADS, SPECS, batching, build

CALLS = 2000


def graphs_of(predictor):
    """The TensorFlow graphs a predictor holds: of a tf_session.Model, a Session or a Graph
    among its attributes."""
    import tensorflow as tf

    found = []
    for value in vars(predictor).values():
        graph = getattr(value, "graph", value)
        if isinstance(graph, tf.Graph):
            found.append(graph)
    return found


def sequential(predictor):
    """Each payload answered once on a single pool thread: the reference."""
    with ThreadPoolExecutor(1) as pool:
        return [plain_answer(pool.submit(predictor.predict, p.value).result()) for p in PAYLOADS]


def test_the_project_has_a_sample_and_apis():
    assert PAYLOADS and PAYLOADS[0].name == "sample.json"
    assert SPECS, "no API in any cortex*.yaml"


@pytest.mark.parametrize("spec", SPECS, ids=API_IDS)
def test_each_payload_gets_its_answer_from_every_thread(predictors, spec):
    predictor = predictors(spec)
    expected = sequential(predictor)
    for status_free in expected:
        assert not (isinstance(status_free, dict) and "error" in status_free), status_free
    for threads in sorted({spec.threads_per_worker, 16}):
        barrier = threading.Barrier(threads)
        seen = set()

        def task(index, threads=threads, barrier=barrier, seen=seen):
            if index < threads:
                barrier.wait(timeout=30)  # every pool thread takes part
            seen.add(threading.get_ident())
            which = index % len(PAYLOADS)
            return which, plain_answer(predictor.predict(PAYLOADS[which].value))

        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(task, range(CALLS)))
        assert len(seen) == threads
        wrong = [(PAYLOADS[w].name, answer) for w, answer in results
                 if not same_answer(answer, expected[w], tolerant=batching(spec))]
        assert wrong == [], f"{len(wrong)} of {CALLS} answers differ at {threads} threads"


@pytest.mark.parametrize("spec", SPECS, ids=API_IDS)
def test_serving_adds_nothing_to_the_graph(predictors, spec):
    predictor = predictors(spec)
    graphs = graphs_of(predictor)
    assert graphs, "the predictor holds no tf_session.Model, tf.Graph or Session attribute"
    before = [len(g.get_operations()) for g in graphs]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: predictor.predict(PAYLOADS[i % len(PAYLOADS)].value),
                      range(500)))
    assert [len(g.get_operations()) for g in graphs] == before


@pytest.mark.parametrize("spec", SPECS, ids=API_IDS)
def test_each_api_serves_in_cortexs_local_environment(predictors, spec):
    """`cortex deploy` to Cortex's local environment runs 1 worker x 1 thread whatever the
    config says (threads_per_worker 1): every API starts there, batched ones included, and
    answers each payload as it does with its own threads."""
    predictor = build(spec, threads=1)
    expected = sequential(predictors(spec))
    answers = sequential(predictor)
    wrong = [(p.name, a) for p, a, e in zip(PAYLOADS, answers, expected)
             if not same_answer(a, e, tolerant=batching(spec))]
    assert wrong == []
