"""What a user meets when a model's files are not where `model` says: a folder holding
several models names each, a checkpoint prefix missing a part of its name is guessed, and a
config without inputs/outputs maps lists the graph's likely tensors."""

import shutil

import pytest

import tf_session
from tests.machinery import models


def fails(location, **config):
    with pytest.raises(tf_session.ModelError) as caught:
        tf_session.load_model(dict({"model": location, "session_strategy": "per_request"},
                                   **config), inputs=["x", "ids"], outputs=["y"])
    return str(caught.value)


def test_a_folder_with_a_savedmodel_and_a_checkpoint_names_both(tmp_path):
    folder = tmp_path / "model"
    models.saved_model(folder)
    models.checkpoint(tmp_path / "ckpt", "house.ckpt")
    for path in (tmp_path / "ckpt").iterdir():
        if path.name != "checkpoint":
            shutil.copy(str(path), str(folder))
    message = fails(str(folder))
    assert message.startswith(f"model {folder} holds more than one model: a SavedModel "
                              "(saved_model.pb")
    assert ("; a checkpoint (house.ckpt.*); move all but one out of the folder, or point "
            f"model at one, e.g. {folder / 'house.ckpt'}") in message


def test_a_folder_with_several_frozen_graphs_names_each(tmp_path):
    folder = tmp_path / "model"
    models.frozen_graph(folder / "a.pb")
    shutil.copy(str(folder / "a.pb"), str(folder / "b.pb"))
    assert fails(str(folder)) == (
        f"model {folder} holds more than one model: a frozen graph (a.pb); a frozen graph (b.pb); "
        f"move all but one out of the folder, or point model at one, e.g. {folder}/b.pb"
        )


def test_a_savedmodel_with_its_own_extra_files_is_one_model(tmp_path):
    folder = tmp_path / "model"
    models.saved_model(folder)
    (folder / "fingerprint.pb").write_bytes(b"")  # as TF 2.11+ writes beside saved_model.pb
    (folder / "README.md").write_text("what goes here")
    model = tf_session.load_model({"model": str(folder), "session_strategy": "per_request"},
                                  inputs=["x", "ids"], outputs=["y"])
    assert model.files.kind == "SavedModel"


def test_a_checkpoint_prefix_short_of_its_name_gets_did_you_mean(tmp_path):
    written = models.checkpoint(tmp_path / "model", "house.ckpt")
    message = fails(str(tmp_path / "model" / "house"), **written.config)
    assert message == f"checkpoint {tmp_path}/model/house: no house.meta there; did you mean " \
                      f"{tmp_path}/model/house.ckpt?"


def test_a_checkpoint_folder_without_its_checkpoint_file_names_the_prefix(tmp_path):
    written = models.checkpoint(tmp_path / "model", "house.ckpt")
    (tmp_path / "model" / "checkpoint").unlink()
    message = fails(str(tmp_path / "model"), **written.config)
    assert "(for a checkpoint, name its prefix: %s); expected" % (tmp_path / "model" /
                                                          "house.ckpt") in message


def test_missing_inputs_list_the_graphs_placeholders(formats):
    message = fails(formats["frozen_graph"].location)
    assert message.endswith("name its tensors there; its placeholders: input/x:0 float32 "
                            "(any, 3), input/ids:0 int64 (any,))")


def test_missing_outputs_list_the_tensors_no_op_reads(formats):
    written = formats["checkpoint_folder"]
    message = fails(written.location, inputs=written.config["inputs"])
    assert "predictor.py uses output 'y'" in message
    candidates = message.split("tensors no op reads: ")[1]
    assert candidates.startswith("output/y:0 float32 (any, 2)")
    assert "save/" not in candidates and "weights" not in candidates


def test_a_checkpoint_with_its_checkpoint_file_beside_a_savedmodel_is_named_by_prefix(tmp_path):
    """The checkpoint copied whole (its `checkpoint` file too): model can name its prefix."""
    folder = tmp_path / "model"
    models.saved_model(folder)
    models.checkpoint(tmp_path / "ckpt", "house.ckpt")
    for path in (tmp_path / "ckpt").iterdir():
        shutil.copy(str(path), str(folder))
    assert fails(str(folder)).endswith(
        "; a checkpoint (checkpoint, house.ckpt.*); move all but one out of the folder, or "
        "point model at one, e.g. %s" % (folder / "house.ckpt"))
