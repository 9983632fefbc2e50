"""make check's static rules agree with tf_session's, which they mirror without TensorFlow.

- Model formats: model_formats.local_format and tf_session.find_model on the same layouts
  in tmp folders; model_formats.s3_format and tf_session's S3 download + find_model on the
  same objects in moto's in-process S3.
- Durations: predictor_config.parse_duration and tf_session.parse_duration on the same texts.
- predictor.config: the checker's jsonschema validation of CONFIG_SCHEMA and
  tf_session.check_config accept and refuse the same configs.
- The literals the checker reads with ast are tf_session's values.
"""

from __future__ import annotations

import ast
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

import tf_session
from cortex_tools.config_check import machinery, model_formats
from cortex_tools.config_check.model_formats import NotAModel
from cortex_tools.config_check.predictor_config import ConfigValidator, parse_duration

ROOT = Path(__file__).resolve().parents[2]
ERROR = "not a model"  # the verdict of either side when it refuses the location


def test_the_literals_read_with_ast_are_tf_sessions():
    tree = ast.parse((ROOT / "tf_session.py").read_text())
    read = machinery.module_literals(tree, ("CONFIG_SCHEMA", "ACCEPTED", "SAVED_MODEL",
                                            "FROZEN_GRAPH", "CHECKPOINT"))
    assert read["CONFIG_SCHEMA"] == tf_session.CONFIG_SCHEMA
    assert read["ACCEPTED"] == tf_session.ACCEPTED
    mirrored = (model_formats.SAVED_MODEL, model_formats.FROZEN_GRAPH, model_formats.CHECKPOINT)
    assert (read["SAVED_MODEL"], read["FROZEN_GRAPH"], read["CHECKPOINT"]) == mirrored
    assert mirrored == (tf_session.SAVED_MODEL, tf_session.FROZEN_GRAPH, tf_session.CHECKPOINT)


SM, GRAPH, CKPT = model_formats.SAVED_MODEL, model_formats.FROZEN_GRAPH, model_formats.CHECKPOINT
DATA = ".data-00000-of-00001"

# (files to write, "folder/" entries are empty folders), the location, the format.
LOCAL_LAYOUTS = [
    pytest.param(["sm/saved_model.pb", "sm/variables/variables.index"], "sm", SM, id="sm"),
    pytest.param(["sm/saved_model.pb"], "sm/", SM, id="sm-trailing-slash"),
    pytest.param(["sm/saved_model.pbtxt"], "sm", SM, id="sm-pbtxt"),
    pytest.param(["sm/saved_model.pb", "sm/checkpoint"], "sm", ERROR, id="sm-and-checkpoint"),
    pytest.param(["sm/saved_model.pb", "sm/fingerprint.pb", "sm/keras_metadata.pb",
                  "sm/README.md"], "sm", SM, id="sm-with-its-own-files"),
    pytest.param(["sm/saved_model.pb", "sm/frozen.pb"], "sm", ERROR, id="sm-and-frozen-graph"),
    pytest.param(["g/a.pb", "g/b.pb"], "g", ERROR, id="two-frozen-graphs"),
    pytest.param(["ck/m.meta", "ck/m.index"], "ck", ERROR, id="checkpoint-folder-without-state"),
    pytest.param(["sm.pb/saved_model.pb"], "sm.pb", SM, id="sm-folder-named-pb"),
    pytest.param(["sm/saved_model.pb"], "sm/saved_model.pb", ERROR, id="sm-own-file"),
    pytest.param(["ck/checkpoint", "ck/m.meta"], "ck", CKPT, id="checkpoint-folder"),
    pytest.param(["ck/m.meta"], "ck/m.meta", CKPT, id="checkpoint-meta"),
    pytest.param(["ck/m", "ck/m.index"], "ck/m", CKPT, id="checkpoint-prefix-is-a-file"),
    pytest.param(["ck/m.index", "ck/m" + DATA], "ck/m", CKPT, id="checkpoint-prefix"),
    pytest.param(["ck/m" + DATA], "ck/m", CKPT, id="checkpoint-prefix-data-only"),
    pytest.param(["w[1]/m.index"], "w[1]/m", CKPT, id="checkpoint-prefix-glob-characters"),
    pytest.param(["ck/m.ckpt-10.meta", "ck/m.ckpt-10.index"], "ck/m.ckpt-10", CKPT,
                 id="checkpoint-prefix-with-step"),
    pytest.param(["g/frozen.pb"], "g/frozen.pb", GRAPH, id="frozen-graph"),
    pytest.param(["g/frozen.graphdef"], "g/frozen.graphdef", GRAPH, id="frozen-graphdef"),
    pytest.param(["g/frozen.pb", "g/frozen.pb.index"], "g/frozen.pb", CKPT,
                 id="frozen-graph-beside-an-index"),
    pytest.param(["g/frozen.pb"], "g", ERROR, id="folder-of-a-frozen-graph"),
    pytest.param(["empty/"], "empty", ERROR, id="empty-folder"),
    pytest.param(["notes.txt"], "notes.txt", ERROR, id="other-file"),
    pytest.param(["sm/saved_model.pb"], "nothing", ERROR, id="nothing-there"),
]


def _lay_out(root: Path, files: list[str]) -> None:
    for name in files:
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")


@pytest.mark.parametrize(("files", "location", "expected"), LOCAL_LAYOUTS)
def test_local_formats_agree_with_find_model(tmp_path, files, location, expected):
    _lay_out(tmp_path, files)
    try:
        theirs = tf_session.find_model(str(tmp_path / location)).kind
    except tf_session.ModelError:
        theirs = ERROR
    try:
        ours = model_formats.local_format(tmp_path / location, location)
    except NotAModel:
        ours = ERROR
    assert (ours, theirs) == (expected, expected)


S3_OBJECTS = ["sm/saved_model.pb", "sm/variables/variables.index", f"sm/variables/variables{DATA}",
              "frozen.pb", "ck/checkpoint", "ck/model.meta", "ck/model.index", f"ck/model{DATA}",
              "train/model.ckpt-100.meta", "train/model.ckpt-100.index",
              f"train/model.ckpt-100{DATA}"]
# The URL and the format its form implies: None when only the objects can tell.
S3_URLS = [
    pytest.param("s3://bucket/sm/", None, id="folder"),
    pytest.param("s3://bucket/sm", None, id="folder-without-slash"),
    pytest.param("s3://bucket/frozen.pb", GRAPH, id="frozen-graph"),
    pytest.param("s3://bucket/ck/", None, id="checkpoint-folder"),
    pytest.param("s3://bucket/ck/model", None, id="checkpoint-prefix-of-any-name"),
    pytest.param("s3://bucket/train/model.ckpt-100", CKPT, id="checkpoint-prefix-named-ckpt"),
    pytest.param("s3://bucket/ck/model.meta", ERROR, id="checkpoint-meta"),
    pytest.param(f"s3://bucket/ck/model{DATA}", ERROR, id="checkpoint-data"),
    pytest.param("s3://bucket/ck/model.index", ERROR, id="checkpoint-index"),
    pytest.param("s3://bucket/ck/checkpoint", ERROR, id="checkpoint-state-file"),
    pytest.param("s3://bucket/sm/saved_model.pb", ERROR, id="sm-own-file"),
]


@pytest.fixture(scope="module")
def s3():
    """moto's in-process S3 with S3_OBJECTS in `bucket` (each checkpoint file names its prefix)."""
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for name, value in [("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                            ("AWS_DEFAULT_REGION", "us-east-1")]:
            env.setenv(name, value)
        client = boto3.client("s3")
        client.create_bucket(Bucket="bucket")
        for key in S3_OBJECTS:
            body = b'model_checkpoint_path: "model"\n' if key.endswith("/checkpoint") else b""
            client.put_object(Bucket="bucket", Key=key, Body=body)
        yield


def _loads_from_s3(url: str, folder: Path) -> str:
    """tf_session's verdict: the format find_model finds after downloading, and for a
    checkpoint whether it has the files to restore (checkpoint_prefix)."""
    try:
        files = tf_session.find_model(url, download_dir=str(folder))
        if files.kind == CKPT:
            tf_session.checkpoint_prefix(files.path, url)
        return files.kind
    except tf_session.ModelError:
        return ERROR


@pytest.mark.parametrize(("url", "expected"), S3_URLS)
def test_s3_forms_agree_with_what_tf_session_downloads(s3, tmp_path, url, expected):
    theirs = _loads_from_s3(url, tmp_path)
    try:
        ours = model_formats.s3_format(url)
    except NotAModel:
        ours = ERROR
    assert ours == expected
    if expected is None:  # the form does not tell: the objects are a folder or a prefix
        assert theirs in (SM, CKPT)
    else:
        assert theirs == expected


@pytest.mark.parametrize("text", [
    "2ms", " 2ms ", "2 ms", "0.5s", ".5s", "5.s", "5.", "500us", "500\u00b5s", "1ns", "0s",
    "2", "2m", "-1ms", "1e-3s", "", "ms", "2msx", "2MS", "\u0662ms", "2ms\n", "1.5.s",
])
def test_durations_read_as_tf_session_reads_them(text):
    theirs, ours = tf_session.parse_duration(text), parse_duration(text)
    assert (ours is None) == (theirs is None)
    if ours is not None:
        assert ours == pytest.approx(theirs)


BASE = {"model": "model", "session_strategy": "per_request"}


@pytest.mark.parametrize("extra", [
    {}, {"session_strategy": "per_thread"}, {"model": ""}, {"model": 3},
    {"signature": ""}, {"signature": "other"}, {"inputs": {"x": "x:0"}}, {"inputs": {"x": 1}},
    {"inputs": ["x"]}, {"outputs": {"y": ""}}, {"finalize_graph": "no"},
    {"finalize_graph": False}, {"inter_op_parallelism_threads": -1},
    {"inter_op_parallelism_threads": -2}, {"inter_op_parallelism_threads": 2.0},
    {"intra_op_parallelism_threads": True}, {"gpu_memory_fraction": 0},
    {"gpu_memory_fraction": 1}, {"gpu_memory_fraction": 1.5},
    {"server_side_batching": {"max_batch_size": 4}},
    {"server_side_batching": {"max_batch_size": 0}},
    {"server_side_batching": {"batch_interval": 0}},
    {"server_side_batching": {"max_batch_size": 2, "batch_interval": "2ms"}},
    {"server_side_batching": {"max_batch_size": 2, "batch_interval": "200ms"}},
    {"server_side_batching": {"max_batch_size": 2, "batch_interval": 0.1}},
    {"server_side_batching": {"max_batch_size": 2, "batch_interval": -0.5}},
    {"server_side_batching": {"max_batch_size": 2, "batch_interval": "soon"}},
    {"server_side_batching": {"max_batch_size": 2, "extra": 1}},
    {"server_side_batching": None}, {"my_own_key": [1, 2]},
], ids=repr)
def test_config_schema_refuses_what_tf_session_refuses(monkeypatch, extra):
    monkeypatch.delenv("CORTEX_THREADS_PER_WORKER", raising=False)  # the schema alone
    config = {**BASE, **extra}
    try:
        tf_session.check_config(config)
        theirs = True
    except tf_session.ModelError:
        theirs = False
    ours = not list(ConfigValidator(tf_session.CONFIG_SCHEMA).iter_errors(config))
    assert ours is theirs


@pytest.mark.parametrize(("files", "location", "keras"), [
    pytest.param(["model/mixed.keras"], "model/mixed.keras", "model/mixed.keras", id="file"),
    pytest.param(["model/README.md", "model/mixed.h5"], "model", "model/mixed.h5",
                 id="folder-holding-one"),
])
def test_a_keras_file_gets_the_convert_command_from_both(tmp_path, files, location, keras):
    _lay_out(tmp_path, files)
    dest = keras.rsplit(".", 1)[0]
    command = f"make convert SRC={keras} DEST={dest} writes it as a SavedModel, then model: {dest}"
    with pytest.raises(tf_session.ModelError) as theirs:
        tf_session.find_model(str(tmp_path / location))
    with pytest.raises(NotAModel) as ours:
        model_formats.local_format(tmp_path / location, location)
    assert command in str(ours.value)
    # tf_session words the path as it was given (absolute here), the config check as written
    assert command.replace("SRC=", f"SRC={tmp_path}/").replace(
        "DEST=", f"DEST={tmp_path}/").replace("model: ", f"model: {tmp_path}/") in str(
        theirs.value)
