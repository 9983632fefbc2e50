"""The image's own TensorFlow 2.1.0, run here before a deploy.

Cortex 0.17's image runs TensorFlow 2.1.0; models are exported and the template is tested
with a newer TensorFlow. This package fetches the real ``tensorflow-cpu==2.1.0`` wheel once
(a user cache folder, checked by its sha256) and uses it two ways, never importing it:

- the model check: TF 2.1's C API (``ctypes`` on the wheel's shared library) loads each
  API's model as the image's predictor would and runs it on the feed the local predictor
  builds for sample.json; its outputs must agree with the local TensorFlow's;
- the API check: every ``tf.`` attribute chain, call keyword and protobuf field of the
  uploaded Python files must exist in TF 2.1's API tree, read from the wheel's sources.

    python -m cortex_tools.tf21 check [CONFIG...]
    python -m cortex_tools.tf21 check-model PATH [--signature S] [--feed FILE.npz]
    python -m cortex_tools.tf21 api [FILE...]
    python -m cortex_tools.tf21 fix-graph IN.pb OUT.pb

Modules, one job each: wheel (fetch, hash, cache, extract), shim (the one symbol newer
Pythons lack), capi (ctypes bindings), runner (the TF 2.1 child process), arrays (feeds and
results between processes), load (the three formats as the image loads them), local (the
local TensorFlow's side), compare, diagnose (error -> op, attribute, node and fix),
fix_graph, check (the model check), api_tree and protos (TF 2.1's API read from its
sources), api_check (the uploaded code's TF uses).

Importing this package imports nothing heavy: the runner child must never load the local
TensorFlow.
"""

TF_VERSION = "2.1.0"
