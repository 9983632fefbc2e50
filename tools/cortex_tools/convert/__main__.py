"""Convert a TensorFlow 2.x or Keras model into one the image's TensorFlow 2.1.0 serves.

    python -m cortex_tools.convert SRC [DEST] [--signature KEY] [--inputs A,B]
                                   [--outputs Y,Z] [--config cortex.yaml]
    make convert SRC=PATH [DEST=model]

SRC: a SavedModel folder (tf.saved_model.save, Keras's model.export(), Keras 2's
model.save(dir), TF1's SavedModelBuilder), a Keras file (.keras, .h5), a TF1 checkpoint
or a frozen GraphDef. DEST (default: model) becomes a SavedModel with one signature,
serving_default, named as the source's inputs and outputs, that tf_session loads with
`model: DEST` alone. --signature picks a SavedModel's signature; --inputs and --outputs
name a checkpoint's or a graph's tensors (default: its placeholders and its sinks).

DEST is written only once the model it holds has answered as the source does, in the
local TensorFlow and in TensorFlow 2.1.0; otherwise one line says why and DEST is as it
was. Exit status 0 when DEST was written, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads

from cortex_tools.convert import destination, detect, report  # noqa: E402
from cortex_tools.convert.errors import ConvertError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cortex_tools.convert",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("src", metavar="SRC")
    parser.add_argument("dest", metavar="DEST", nargs="?", default="model")
    parser.add_argument("--signature", metavar="KEY")
    parser.add_argument("--inputs", metavar="A,B", type=_names)
    parser.add_argument("--outputs", metavar="Y,Z", type=_names)
    parser.add_argument("--config", default="cortex.yaml",
                        help="the config whose predictor.py gives the feed (default: "
                             "cortex.yaml)")
    args = parser.parse_args(argv)
    try:
        lines = convert(args)
    except ConvertError as e:
        print("\n".join(report.failure(e, args.dest)), flush=True)
        return 1
    print("\n".join(lines), flush=True)
    return 0


def convert(args: argparse.Namespace) -> list[str]:
    from cortex_tools.convert import feed, ops, saved_model, verify
    from cortex_tools.image_stack import stack
    from cortex_tools.tf21 import check, load
    from cortex_tools.tf21.wheel import SetupError

    destination.check(args.dest)
    kind = detect.detect(args.src)
    try:
        prepared = check.setup()
    except SetupError as e:
        raise ConvertError(f"cannot check the converted model in TensorFlow 2.1.0: {e}") from e
    source = read(kind, args)
    stripped = ops.strip(source, load.read_op_list(prepared.op_list))
    with destination.staged(args.dest) as staged, \
            tempfile.TemporaryDirectory(prefix="convert-check-") as work:
        signature = saved_model.write(staged, source.graph_def, source.inputs,
                                      source.outputs)
        job = feed.prepare(staged, args.dest, signature, Path(work), prepared=prepared,
                           config=args.config)
        job.how = job.how.replace(staged, args.dest)  # the name the user will know it by
        expected = [_source_outputs(source, run) for run in job.runs]
        verdicts = verify.verify(job, signature, expected, verify.tiers(prepared, staged))
        if not all(verdict.ok for verdict in verdicts):
            raise report.failed_verification(source, job.how, verdicts)
    lines = report.success(args.dest, source, signature, stripped, how=job.how,
                           verdicts=verdicts)
    if not stack.is_ready():
        lines.insert(-1, "  image stack: not set up here, so not checked on it "
                         "(make image-stack sets it up)")
    return lines


def read(kind: detect.Kind, args: argparse.Namespace):
    """The Source of SRC, frozen: its graph, names and the model itself to compare with."""
    import tensorflow as tf

    from cortex_tools.convert import tf1_source, tf2_source

    # TensorFlow's deprecation notices for the tf.compat.v1 calls made on purpose here
    # would bury the report.
    tf.get_logger().setLevel("ERROR")
    if kind.name == detect.TF2_SAVED_MODEL:
        return tf2_source.from_saved_model(kind, args.src, args.signature)
    if kind.name == detect.KERAS_FILE:
        return tf2_source.from_keras_file(kind, args.src)
    if kind.name == detect.TF1_SAVED_MODEL:
        return tf1_source.from_saved_model(kind, args.src, args.signature)
    if kind.name == detect.CHECKPOINT:
        return tf1_source.from_checkpoint(kind, args.src, args.inputs, args.outputs)
    return tf1_source.from_frozen_graph(kind, args.src, args.inputs, args.outputs)


def _source_outputs(source, run) -> dict:
    outputs = source.run(run.feed)
    return {name: outputs[name] for name in run.fetch}


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


if __name__ == "__main__":
    sys.exit(main())
