"""Where memory goes when stancelab builds and fits on a big corpus: peak RSS per stage.

``python memory_stages.py DATA.jsonl CACHE_DIR`` runs, in this one process, the stages that
``stancelab data build`` and ``stancelab train features=hashing model=sgd`` run, calling
stancelab's own functions in the order ``stancelab.data.build.prepare`` / ``build_dataset`` and
``stancelab.training`` call them, and prints one JSON object: for each stage its wall time, the
process' RSS after it, and its peak RSS *during* the stage (the kernel's high-water mark, reset
before each stage through ``/proc/self/clear_refs``). Nothing of stancelab is changed; the
stage list mirrors its code, so a change there may need a change here.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0])
    return out


class Stages:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def __call__(self, name: str, fn, *args, **kwargs):
        gc.collect()
        with open("/proc/self/clear_refs", "w") as fh:  # reset VmHWM to the current RSS
            fh.write("5")
        before = _status()["VmRSS"]
        t = time.perf_counter()
        result = fn(*args, **kwargs)
        seconds = time.perf_counter() - t
        st = _status()
        self.rows.append(
            {
                "stage": name,
                "seconds": round(seconds, 2),
                "rss_before_mb": round(before / 1024),
                "peak_mb": round(st["VmHWM"] / 1024),
                "rss_after_mb": round(st["VmRSS"] / 1024),
            }
        )
        print(
            f"{name:<44} {seconds:7.1f} s  peak {st['VmHWM'] / 1024:7.0f} MB  "
            f"after {st['VmRSS'] / 1024:7.0f} MB",
            file=sys.stderr,
            flush=True,
        )
        return result


def main() -> None:
    data, cache = sys.argv[1], Path(sys.argv[2])
    stage = Stages()
    import datasets

    from stancelab.config import compose
    from stancelab.data import normalize
    from stancelab.data.agreement import agreement_report
    from stancelab.data.build import _plain, to_dataset_dict
    from stancelab.data.readers import read_source
    from stancelab.data.split import assign_splits
    from stancelab.models import build_model
    from stancelab.training import frames

    cfg = compose(
        [
            "features=hashing",
            "model=sgd",
            "dataset=jsonl",
            f"dataset.path={data}",
            f"dataset.cache_dir={cache}",
            "tracking=off",
        ]
    )
    dcfg = _plain(cfg.dataset)
    datasets.disable_progress_bars()
    start = _status()["VmRSS"]

    # --- stancelab.data.build.prepare, step by step
    records, _, _ = stage(
        "read_source (read + parse JSONL into dicts)", read_source, dcfg["sources"][0]
    )
    records, _ = stage(
        "apply_label_map",
        normalize.apply_label_map,
        records,
        dcfg.get("label_map") or {},
        list(dcfg["labels"]),
    )
    records = stage(
        "select_targets",
        normalize.select_targets,
        records,
        dcfg.get("targets"),
        dcfg.get("target_rename") or {},
    )
    records, _ = stage(
        "clean_records",
        normalize.clean_records,
        records,
        dcfg["text"]["residue"],
        int(dcfg["text"]["min_chars"]),
    )
    stage("check_ids", normalize.check_ids, records)
    stage("agreement_report", agreement_report, records)
    records, _ = stage("aggregate", normalize.aggregate, records, dcfg["aggregation"]["tie"])
    records, _ = stage("deduplicate", normalize.deduplicate, records, True)
    splits, _ = stage(
        "assign_splits",
        assign_splits,
        records,
        dcfg["split"]["ratios"],
        int(dcfg["split"]["seed"]),
        dcfg["split"]["group_by"],
    )
    del records
    dsd = stage(
        "to_dataset_dict (Arrow tables)",
        to_dataset_dict,
        splits,
        list(dcfg["labels"]),
        True,
        "memory-stages",
    )
    del splits
    out = cache / "memory-stages"
    stage("save_to_disk", dsd.save_to_disk, str(out))
    del dsd
    stage("(records and Arrow tables released)", lambda: None)

    # --- stancelab.training.train, step by step (hashing features + SGD)
    dsd = stage("load_from_disk (memory-mapped)", datasets.load_from_disk, str(out))
    data_frames = stage("frames() → pandas", frames, dsd)
    train = data_frames["train"]
    pipe = build_model(cfg).pipeline
    X = stage(
        "features fit_transform (ColumnTransformer: hash + tfidf + one-hot)",
        pipe[:-1].fit_transform,
        train[["text", "target"]],
    )
    nnz = int(X.nnz)
    clf = pipe[-1]
    stage(
        "classifier fit (SGDClassifier on the sparse matrix)",
        clf.fit,
        X,
        train["stance"].to_numpy(object),
    )
    del X
    val = data_frames.get("validation")
    if val is not None:
        fitted = pipe  # the pipeline's steps are fitted now; predict as StanceClassifier does
        stage("predict_proba on validation", fitted.predict_proba, val[["text", "target"]])
    print(
        json.dumps(
            {
                "rows": {k: len(v) for k, v in data_frames.items()},
                "train_matrix_nnz": nnz,
                "rss_at_start_mb": round(start / 1024),
                "stages": stage.rows,
            }
        )
    )


if __name__ == "__main__":
    main()
