"""The baseline of the framework-overhead measurement: plain scikit-learn, no stancelab.

Reads the same JSONL file that ``stancelab train dataset=jsonl dataset.path=FILE`` reads, takes
the ``split`` field as given, fits the pipeline that ``features=hashing model=sgd
target_mode=joint`` builds (same scikit-learn classes and parameters, built by hand here) on the
train rows, and scores validation and test with predict_proba → argmax → macro-F1, as stancelab
does. Prints one JSON line with timings and scores.

Usage: ``python plain_train.py DATA.jsonl [--seed 13] [--n-features 1048576] [--alpha 1e-5]``
"""

from __future__ import annotations

import argparse
import json
import time

T0 = time.perf_counter()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer  # noqa: E402
from sklearn.linear_model import SGDClassifier  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder  # noqa: E402


def build_pipeline(args: argparse.Namespace) -> Pipeline:
    """conf/features/hashing.yaml + conf/model/sgd.yaml + models.make_pipeline(use_target=True)."""
    text = Pipeline(
        [
            (
                "hash",
                HashingVectorizer(
                    n_features=args.n_features,
                    ngram_range=(1, 2),
                    lowercase=True,
                    alternate_sign=False,
                    norm=None,
                ),
            ),
            ("tfidf", TfidfTransformer(sublinear_tf=True)),
        ]
    )
    columns = ColumnTransformer(
        [("text", text, "text"), ("target", OneHotEncoder(handle_unknown="ignore"), ["target"])]
    )
    clf = SGDClassifier(
        loss="log_loss",
        alpha=args.alpha,
        penalty="l2",
        class_weight="balanced",
        max_iter=50,
        tol=1e-4,
        random_state=args.seed,
    )
    return Pipeline([("columns", columns), ("classifier", clf)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--n-features", type=int, default=2**20)
    parser.add_argument("--alpha", type=float, default=1e-5)
    args = parser.parse_args()
    out: dict[str, float] = {"import_seconds": time.perf_counter() - T0}

    t = time.perf_counter()
    rows = []
    with open(args.data, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                obj = json.loads(line)
                rows.append((obj["text"], obj["target"], obj["stance"], obj["split"]))
    df = pd.DataFrame(rows, columns=["text", "target", "stance", "split"])
    del rows
    out["read_seconds"] = time.perf_counter() - t

    train = df[df["split"] == "train"]
    t = time.perf_counter()
    model = build_pipeline(args).fit(train[["text", "target"]], train["stance"].to_numpy(object))
    out["fit_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    for split, prefix in (("validation", "val"), ("test", "test")):
        part = df[df["split"] == split]
        if len(part):
            proba = model.predict_proba(part[["text", "target"]])
            pred = model.classes_[np.argmax(proba, axis=1)]
            out[f"{prefix}_macro_f1"] = float(f1_score(part["stance"], pred, average="macro"))
    out["evaluate_seconds"] = time.perf_counter() - t
    out["n_train"] = len(train)
    out["total_seconds"] = time.perf_counter() - T0
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
