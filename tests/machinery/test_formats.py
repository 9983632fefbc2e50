"""Every model format tf_session loads, local and from S3, under Cortex's thread model.

Each predictor is built on the test's (main) thread and answers from a pool of other
threads, as a Cortex 0.17 worker runs it (../shared/cortex-0.17.md section 1).
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import tf_session
from tests.machinery import models
from tests.machinery.conftest import upload
from tests.machinery.two_inputs import PythonPredictor, payloads

FORMATS = ["saved_model_other_signature", "saved_model_serving_default", "frozen_graph",
           "checkpoint_folder", "checkpoint_prefix", "checkpoint_moved"]
CALLS = 2000


def config(written: models.Written, strategy: str = "per_request", **extra) -> dict:
    return {"model": written.location, "session_strategy": strategy, **written.config, **extra}


@pytest.fixture(scope="module")
def inputs_and_reference():
    inputs = payloads(CALLS, seed=11)
    reference = models.expected_y([p["x"] for p in inputs], [p["ids"] for p in inputs])
    return inputs, reference


def answer_concurrently(predictor, inputs, threads):
    """predict() for each payload from `threads` pool threads, every thread forced into use."""
    barrier = threading.Barrier(threads)
    seen = set()

    def task(index):
        if index < threads:
            barrier.wait(timeout=30)
        seen.add(threading.get_ident())
        return predictor.predict(inputs[index])

    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(task, range(len(inputs))))
    assert len(seen) == threads
    return answers


@pytest.mark.parametrize("threads", [1, 4])
@pytest.mark.parametrize("strategy", tf_session.SESSION_STRATEGIES)
@pytest.mark.parametrize("name", FORMATS)
def test_each_format_answers_every_call_right_from_pool_threads(
        formats, inputs_and_reference, name, strategy, threads):
    inputs, reference = inputs_and_reference
    predictor = PythonPredictor(config(formats[name], strategy))
    assert predictor.model.files.kind == formats[name].kind
    sequential = [predictor.predict(p) for p in inputs]
    np.testing.assert_allclose([a["y"] for a in sequential], reference, rtol=1e-5, atol=1e-6)

    answers = answer_concurrently(predictor, inputs, threads)
    assert [i for i, a in enumerate(answers) if a != sequential[i]] == []


def test_the_moved_checkpoint_names_paths_that_no_longer_exist(formats):
    """The control for checkpoint_moved: its `checkpoint` file holds where it was saved."""
    text = (models.Path(formats["checkpoint_moved"].location) / "checkpoint").read_text()
    assert "ckpt_saved_here" in text and "ckpt_moved_there" not in text


@pytest.mark.parametrize("name", FORMATS)
def test_each_format_gets_its_own_finalized_graph(formats, name):
    import tensorflow as tf

    model = PythonPredictor(config(formats[name])).model
    assert model.graph is not tf.compat.v1.get_default_graph()
    assert model.sess.graph is model.graph and model.graph.finalized


def test_a_savedmodel_signature_can_be_chosen(tmp_path):
    written = models.saved_model(tmp_path / "two", ("serving_default", "other"))
    for signature in ("other", "serving_default"):
        model = PythonPredictor(config(written, signature=signature)).model
        assert model.signature == signature
    assert PythonPredictor(config(written)).model.signature == "serving_default"


def test_config_inputs_and_outputs_override_a_signature(formats):
    written = formats["saved_model_serving_default"]
    model = tf_session.load_model(config(written, outputs={"y": "output/y"}), outputs=["y"])
    assert model.outputs["y"].name == "output/y:0"  # the ":0" is added


# --- from S3: a real S3-compatible server on loopback ----------------------------------------

S3_CASES = {
    "frozen_graph": "s3://models/{}/model.pb".format,  # one object
    "checkpoint_prefix": "s3://models/{}/model.ckpt-100".format,  # key.* objects
    "checkpoint_folder": "s3://models/{}/".format,
    "saved_model_other_signature": "s3://models/{}/".format,  # a prefix
}


@pytest.mark.parametrize("name", sorted(S3_CASES))
def test_each_format_loads_from_s3(s3, formats, tmp_path, name):
    written = formats[name]
    upload(s3, written, f"{name}/")
    s3.put_object(Bucket="models", Key=f"{name}/marker/")  # a folder marker, as consoles make
    url = S3_CASES[name](name)
    remote = PythonPredictor({**config(written), "model": url})
    local = PythonPredictor(config(written))
    assert remote.model.files.kind == written.kind
    for payload in payloads(20, seed=5):
        assert remote.predict(payload) == local.predict(payload)


def test_s3_download_lands_in_a_private_folder(s3, formats, tmp_path):
    upload(s3, formats["frozen_graph"], "private/")
    path = tf_session.download_from_s3("s3://models/private/model.pb", str(tmp_path))
    assert path.endswith("/model.pb") and path.startswith(str(tmp_path))
    folder = models.Path(path).parent
    assert oct(folder.stat().st_mode & 0o777) == "0o700"


def test_a_failed_s3_download_leaves_nothing_behind(s3, formats, tmp_path):
    upload(s3, formats["saved_model_other_signature"], "escape/")
    s3.put_object(Bucket="models", Key="escape/../../outside", Body=b"x")
    with pytest.raises(tf_session.ModelError, match="leaves the download folder"):
        tf_session.download_from_s3("s3://models/escape/", str(tmp_path))
    assert list(tmp_path.iterdir()) == []
