"""A model's outputs as tf_session loads and runs it on the image stack (Python 3.6).

    .venv-image/bin/python model_outputs.py JOB.json

JOB: {"project": the folder of tf_session.py, "model": the model's path, "runs": [{"feed":
an .npz of the feed by tensor name, "fetch": [tensor names], "out": an .npz to write}]}.
The model is loaded by the project's own tf_session.load_model, as predictor.py loads it
on Cortex, and each run is a Model.run. A failure to load or run writes {"error": "Type:
first line"} to JOB's folder as error.json and exits 0: the caller reports it.
"""
import json
import os
import sys

from named_arrays import load, save


def outputs(job):
    sys.path.insert(0, job["project"])
    import tf_session

    model = tf_session.load_model({"model": job["model"], "session_strategy": "per_request"})
    for run in job["runs"]:
        values = model.run(run["fetch"], load(run["feed"]))
        save(run["out"], dict(zip(run["fetch"], values)))


def main(job_path):
    with open(job_path) as f:
        job = json.load(f)
    try:
        outputs(job)
    except Exception as e:
        lines = str(e).strip().splitlines()
        error = "%s: %s" % (type(e).__name__, lines[0] if lines else "")
        with open(os.path.join(os.path.dirname(job_path), "error.json"), "w") as f:
            json.dump({"error": error}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
