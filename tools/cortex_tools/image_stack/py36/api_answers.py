"""One API's answers on the image stack, as a Cortex 0.17 worker gives them (Python 3.6).

    .venv-image/bin/python api_answers.py JOB.json OUT.json

JOB: {"spec": {...} (cortex_tools.image_stack.specs), "payloads": [{"name", "value"}]}.
The predictor is loaded and built as the image does it (image_project), on this main
thread; then each of threads_per_worker other threads (a pool, as Cortex's) answers every
payload, all threads at once (a barrier makes every one of them take part). OUT gets each
payload's answers, as a client would read them: {"status", "json"} or {"status", "text"},
or {"error": "Type: message (file:line)"} for an exception, the line being the innermost
one in the project's own files. A failure to load or build is {"start_error": ...}.
"""
import json
import os
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor

import image_project
from client_reads import as_client_reads


def described(error, project_dir):
    """"Type: message (file:line)" with the innermost frame in the project's files (not in
    a virtualenv the project holds, such as .venv-image, whose files are libraries)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if os.path.abspath(f.filename).startswith(project_dir + os.sep)
              and "site-packages" not in f.filename.split(os.sep)]
    where = " (%s:%d)" % (os.path.relpath(frames[-1].filename, project_dir),
                          frames[-1].lineno) if frames else ""
    text = str(error).strip().splitlines()
    return "%s: %s%s" % (type(error).__name__, text[0] if text else "", where)


def answers(spec, payloads):
    project_dir = str(spec.project_dir)
    try:
        predictor = image_project.build(spec)
    except Exception as e:
        return {"start_error": described(e, project_dir)}
    threads = spec.threads_per_worker
    barrier = threading.Barrier(threads)

    def answer_all(_):
        barrier.wait(timeout=60)  # every pool thread takes part
        found = []
        for payload in payloads:
            try:
                kwargs = image_project.predict_kwargs(predictor, payload["value"])
                found.append(as_client_reads(predictor.predict(**kwargs)))
            except Exception as e:
                found.append({"error": described(e, project_dir)})
        return found

    with image_project.in_project(spec), ThreadPoolExecutor(threads) as pool:
        per_thread = list(pool.map(answer_all, range(threads)))
    return {"threads": threads, "answers": [[thread[i] for thread in per_thread]
                                            for i in range(len(payloads))]}


def main(job_path, out_path):
    with open(job_path) as f:
        job = json.load(f)
    found = answers(image_project.Spec(job["spec"]), job["payloads"])
    with open(out_path, "w") as f:
        json.dump(found, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
