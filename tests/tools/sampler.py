"""A character-level sampler, as a user brings one: a TF1 checkpoint whose predictor drives
the session itself through ``model.run_with_defaults``, in a loop that feeds
``{tokens: [context]}`` and then appends the chosen character to ``context`` (as GPT-2's
sampler does), and works on each fetched array in place. Nothing in it batches.

``write_project(folder)`` writes the model, predictor.py, tf_session.py (the template's),
sample.json and a cortex.yaml with one API, ``char-sampler``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
API = "char-sampler"
STEPS = 20  # sess.run calls per request: one per sampled character
SAMPLE = json.dumps({"prompt": "hello wor", "steps": STEPS})

PREDICTOR = '''"""A character-level sampler: the model gives the next character's logits
for a context, and predict() feeds it back each character it picks (README: code that
must drive the session itself)."""
import numpy as np

from tf_session import PayloadError, integer, load_model, read_fields, string

ALPHABET = "abcdefghijklmnopqrstuvwxyz .,"
FIELDS = {"prompt": string(max_length=200), "steps": integer(1, 50)}
INPUTS = ["tokens"]
OUTPUTS = ["logits", "next_token"]


class PythonPredictor:
    def __init__(self, config):
        self.model = load_model(config, inputs=INPUTS, outputs=OUTPUTS)

    def predict(self, payload):
        try:
            fields = read_fields(payload, FIELDS)
            context = encoded(fields["prompt"])
        except PayloadError as e:
            return e.response()
        return self.model.run_with_defaults(self.sample, context, fields["steps"])

    def sample(self, sess, context, steps):
        tokens = self.model.inputs["tokens"]
        fetches = [self.model.outputs["logits"], self.model.outputs["next_token"]]
        confidence = []
        for _ in range(steps):
            logits, next_token = sess.run(fetches, {tokens: [context]})
            scores = logits[0]
            scores -= scores.max()  # in place, on the array sess.run returned
            np.exp(scores, out=scores)
            confidence.append(float(scores[next_token[0]] / scores.sum()))
            context.append(int(next_token[0]))  # the list fed above grows
        return {"text": "".join(ALPHABET[i] for i in context),
                "confidence": sum(confidence) / len(confidence)}


def encoded(prompt):
    if not prompt:
        raise PayloadError("field prompt must hold at least 1 character, got none")
    unknown = sorted(set(prompt) - set(ALPHABET))
    if unknown:
        raise PayloadError("field prompt holds %r, which the model does not know: use "
                           "only %r" % ("".join(unknown)[:20], ALPHABET))
    return [ALPHABET.index(c) for c in prompt]
'''
ALPHABET = "abcdefghijklmnopqrstuvwxyz .,"  # predictor.py's

CONFIG = f'''- name: {API}
  predictor:
    type: python
    path: predictor.py
    config:
      model: model
      session_strategy: per_request
      inputs: {{tokens: "tokens:0"}}
      outputs: {{logits: "logits:0", next_token: "next_token:0"}}
  compute:
    cpu: 1
    mem: 1G
  autoscaling:
    threads_per_worker: 2
    target_replica_concurrency: 2
'''


def save_checkpoint(prefix: Path) -> None:
    """The model: the last character's embedding and the context's mean through a
    tanh layer to the next character's logits; next_token their argmax. Reference
    variables, which TF 2.1 restores."""
    import tensorflow as tf

    rng = np.random.default_rng(22)
    size, width = len(ALPHABET), 16
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        tokens = tf.compat.v1.placeholder(tf.int32, [None, None], name="tokens")
        embedding = tf.compat.v1.Variable(
            rng.standard_normal((size, width)).astype(np.float32), name="embedding",
            use_resource=False)
        weights = tf.compat.v1.Variable(
            rng.standard_normal((width, size)).astype(np.float32), name="weights",
            use_resource=False)
        embedded = tf.nn.embedding_lookup(embedding, tokens)
        hidden = tf.tanh(tf.reduce_mean(embedded, axis=1) + 2.0 * embedded[:, -1])
        logits = tf.matmul(hidden, weights, name="logits")
        tf.argmax(logits, axis=1, output_type=tf.int32, name="next_token")
        sess.run(tf.compat.v1.global_variables_initializer())
        prefix.parent.mkdir(parents=True, exist_ok=True)
        tf.compat.v1.train.Saver().save(sess, str(prefix))


def write_project(folder: Path) -> Path:
    """The sampler's project in `folder`; its cortex.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(folder / "model" / "model")
    (folder / "predictor.py").write_text(PREDICTOR)
    (folder / "tf_session.py").write_text((ROOT / "tf_session.py").read_text())
    (folder / "sample.json").write_text(SAMPLE)
    (folder / "cortex.yaml").write_text(CONFIG)
    return folder / "cortex.yaml"
