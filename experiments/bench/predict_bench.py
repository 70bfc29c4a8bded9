"""Batch prediction throughput: stancelab's Predictor versus the bare fitted estimators.

Run in a fresh process by run.py: ``python predict_bench.py MODEL_DIR DATA.jsonl N REPEATS
TARGET [ROUNDS]``. Reads the first N texts of DATA.jsonl and times, on the same list of N strings:

* ``predictor``   ``stancelab.load(MODEL_DIR).predict(texts, target=TARGET)`` (the public API);
* ``classifier``  ``predictor.model.predict(DataFrame(text, target))``: the bare fitted
  StanceClassifier (building the DataFrame from the list is included in the time);
* ``pipeline``    ``predictor.model.estimator_.predict(DataFrame(text, target))``: the inner
  scikit-learn Pipeline, DataFrame building included;
* ``lite``        ``stancelab.load(MODEL_DIR, engine="lite").predict(texts, target=TARGET)``:
  the model's NumPy-only copy (what ``stancelab predict`` uses), when the folder has one;
* ``predict_frame``, ``predict_proba`` (Predictor methods) and ``to_records`` (the
  ``DataFrame.to_dict(orient="records")`` step of Predictor.predict) to show where time goes.

Each repeat runs every variant once, in a rotated order; ``gc.collect()`` before each and
the garbage collector off during the timed call (as ``timeit`` does). Both wall
time and this process' CPU time (``time.process_time``: not inflated when other processes take
the CPU) are recorded. Prints one JSON object with every timing, the medians and whether all
variants predicted the same labels.

Then ROUNDS (default 8) *paired* rounds: ``predictor``, ``classifier`` and ``pipeline`` run back to
back in a rotating order, and each round gives a throughput ratio (bare time / predictor time).
On a shared machine the speed of one call drifts by tens of percent from minute to minute; the
median of per-round ratios compares calls made within seconds of each other, so it is the more
robust estimate of the overhead.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time


def timed(fn, *args):
    """``fn(*args)`` → (result, wall seconds, CPU seconds), with the garbage collector off during
    the call (as ``timeit`` does: a collection must not land in one variant's call)."""
    gc.collect()
    gc.disable()
    try:
        t, c = time.perf_counter(), time.process_time()
        out = fn(*args)
        return out, time.perf_counter() - t, time.process_time() - c
    finally:
        gc.enable()


def main() -> None:
    model_dir, data, n, repeats, target = (
        sys.argv[1],
        sys.argv[2],
        int(sys.argv[3]),
        int(sys.argv[4]),
        sys.argv[5],
    )
    rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 8
    texts = []
    with open(data, encoding="utf-8") as fh:
        for line in fh:
            if len(texts) >= n:
                break
            if line.strip():
                texts.append(json.loads(line)["text"])

    t = time.perf_counter()
    import pandas as pd

    import stancelab
    import stancelab.errors

    predictor = stancelab.load(model_dir)
    load_seconds = time.perf_counter() - t
    classifier = predictor.model
    pipeline = classifier.estimator_

    def frame(items):
        return pd.DataFrame({"text": items, "target": target})

    try:
        lite = stancelab.load(model_dir, engine="lite")
    except stancelab.errors.ModelNotFoundError:  # a model with parts the copy does not cover
        lite = None

    variants = {
        "predictor": lambda items: predictor.predict(items, target=target),
        "classifier": lambda items: classifier.predict(frame(items)),
        "pipeline": lambda items: pipeline.predict(frame(items)),
        "predict_frame": lambda items: predictor.predict_frame(items, target=target),
        "predict_proba": lambda items: predictor.predict_proba(items, target=target),
    }
    if lite is not None:
        variants["lite"] = lambda items: lite.predict(items, target=target)
    for fn in variants.values():  # warm-up: first-call costs (imports, caches) are not throughput
        fn(texts[:1000])

    times: dict[str, list[float]] = {name: [] for name in variants}
    times["to_records"] = []
    cpu: dict[str, list[float]] = {name: [] for name in times}
    outputs = {}
    names = list(variants)
    for rep in range(repeats):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            out, wall, proc = timed(variants[name], texts)
            times[name].append(wall)
            cpu[name].append(proc)
            if name == "predict_frame":
                _, wall, proc = timed(out.to_dict, "records")
                times["to_records"].append(wall)
                cpu["to_records"].append(proc)
            if rep == 0:
                outputs[name] = out
    labels = {
        "predictor": list(outputs["predictor"]),
        "classifier": [str(x) for x in outputs["classifier"]],
        "pipeline": [str(x) for x in outputs["pipeline"]],
        "predict_frame": list(outputs["predict_frame"]["stance"]),
        **({"lite": list(outputs["lite"])} if "lite" in outputs else {}),
    }
    same = all(v == labels["predictor"] for v in labels.values())
    paired: dict[str, list[float]] = {"classifier": [], "pipeline": []}
    paired_cpu: dict[str, list[float]] = {"classifier": [], "pipeline": []}
    trio = ["predictor", "classifier", "pipeline"]
    for i in range(rounds):
        order = trio[i % 3 :] + trio[: i % 3]
        wall, proc = {}, {}
        for name in order:
            _, wall[name], proc[name] = timed(variants[name], texts)
        for bare in paired:
            paired[bare].append(wall[bare] / wall["predictor"])
            paired_cpu[bare].append(proc[bare] / proc["predictor"])

    medians = {k: statistics.median(v) for k, v in times.items()}
    cpu_medians = {k: statistics.median(v) for k, v in cpu.items()}
    print(
        json.dumps(
            {
                "n": len(texts),
                "repeats": repeats,
                "load_seconds": load_seconds,
                "times": times,
                "cpu_times": cpu,
                "median_seconds": medians,
                "min_seconds": {k: min(v) for k, v in times.items()},
                "median_cpu_seconds": cpu_medians,
                "sentences_per_second": {k: len(texts) / v for k, v in medians.items()},
                "sentences_per_cpu_second": {k: len(texts) / v for k, v in cpu_medians.items()},
                "paired_rounds": rounds,
                "paired_ratios": paired,
                "paired_cpu_ratios": paired_cpu,
                "paired_ratio_median": {k: statistics.median(v) for k, v in paired.items()},
                "paired_cpu_ratio_median": {k: statistics.median(v) for k, v in paired_cpu.items()},
                "same_labels": same,
            }
        )
    )


if __name__ == "__main__":
    main()
