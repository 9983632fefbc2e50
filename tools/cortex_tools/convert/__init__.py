"""`make convert`: any TensorFlow 2.x or Keras model, made into one TensorFlow 2.1.0 serves.

    python -m cortex_tools.convert SRC [DEST] [--signature KEY] [--inputs A,B]
                                   [--outputs Y,Z] [--config cortex.yaml]

Cortex 0.17's image runs TensorFlow 2.1.0 and tf_session loads models with its
tf.compat.v1 loader. Models written by a newer TensorFlow mostly do not load there as they
are: their resource variables stay uninitialised (a TF2 SavedModel), or their graph holds
ops and attributes 2.1 does not know. This package reads the model with the local
TensorFlow, freezes its serving function (variables to constants), strips what 2.1 does
not know where that changes nothing, and writes a TF1-style SavedModel whose only
signature, ``serving_default``, has the source's own input and output names. It then runs
what it wrote, in the local TensorFlow and in TensorFlow 2.1.0, against the source model,
and only then moves it to DEST.

Modules, one job each:

- detect: which of the source kinds SRC is;
- source: what every kind becomes (a frozen GraphDef, names, the source model's runner);
- tf2_source: TF2 SavedModels and Keras files (a ConcreteFunction, frozen);
- tf1_source: TF1 SavedModels, checkpoints and frozen GraphDefs (a Session, frozen);
- ops: the frozen graph against TF 2.1's op registry (strip, or say what cannot run);
- saved_model: the SavedModel proto written by hand (no variables, no saver);
- destination: the temporary folder beside DEST and the move into place;
- feed: the inputs the check runs on (sample.json through predictor.py, else generated);
- verify: the tiers that run the written model, each compared with the source;
- report: what is printed.

The converting process never imports tf_session (it turns eager execution off for the
whole process): the runs as tf_session loads the model happen in a child process
(cortex_tools.tf21.local), as in make check.
"""
