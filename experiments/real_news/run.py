"""Compare configurations on the corpus test split and on real_dev, with error analysis.

Each row of the table is one ``stancelab train`` configuration (the overrides are printed as the
command that reproduces it). For every row the script trains with tracking off, scores the
corpus's invented test documents and the news-derived ``real_dev`` documents (macro-F1 with its
bootstrap 95% interval, F_avg, per-class F1), and breaks real_dev down by the corpus's
``phenomena`` tags and by outlet kind. Results go to ``results.json`` beside this file; the
README's tables are written from it.

    python experiments/real_news/run.py                  # every row
    python experiments/real_news/run.py default scope    # some rows
    python experiments/real_news/run.py --list
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
MAIN = "troop deployment to Ukraine"

#: name -> (what it is, the overrides after ``stancelab train``)
ROWS: dict[str, tuple[str, list[str]]] = {
    "invented_only": (
        "n-grams + logistic regression, written batches only (no news-derived documents)",
        [
            "features=word_char",
            "model=logreg",
            'dataset.sources.0.paths=["${paths.seeds}/corpus/[bs]*.jsonl"]',
        ],
    ),
    "default": (
        "word 1-3 + char 2-5 TF-IDF, logistic regression (the default before this study)",
        ["features=word_char", "model=logreg"],
    ),
    "svm": ("same features, calibrated linear SVM", ["features=word_char", "model=linear_svm"]),
    "scope": (
        "Quick start default: + negation / report scope n-grams (light install)",
        [],
    ),
    "none_weight": (
        "word + char n-grams, none class weighted 1.5x",
        ["features=word_char", "model=logreg_news"],
    ),
    "scope_none": (
        "scope n-grams + none weighted 1.5x",
        ["features=word_char_scope", "model=logreg_news"],
    ),
    "main_only": (
        "word + char n-grams, trained on the main target only",
        ["features=word_char", "model=logreg", f"dataset.targets=[{MAIN}]"],
    ),
    "minilm_frozen": (
        "n-grams + frozen MiniLM embeddings (embeddings extra)",
        ["features=word_char_minilm", "model=logreg"],
    ),
    "minilm_finetuned": (
        "MiniLM fine-tuned end to end, target as sentence pair (embeddings extra)",
        ["features=raw", "model=minilm_finetune"],
    ),
    "blend": (
        "Quick start n-grams + fine-tuned MiniLM, probabilities averaged (embeddings extra)",
        ["features=raw", "model=blend_minilm"],
    ),
}


def frame_with_meta(split_df, meta: dict) -> list[dict]:
    rows = []
    for rec in split_df.to_dict("records"):
        doc = meta.get(rec["doc_id"], {})
        rows.append(
            {**rec, "outlet_kind": doc.get("outlet_kind", "invented"), "kind": doc.get("kind", "?")}
        )
    return rows


def breakdown(rows: list[dict], pred, labels: list[str], key) -> dict[str, dict]:
    """Macro-F1 and size per group (a sentence may sit in several groups)."""
    from stancelab import evaluation as ev

    groups: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        for name in key(row):
            groups[name].append(i)
    out = {}
    for name, idx in sorted(groups.items()):
        y = [rows[i]["stance"] for i in idx]
        p = [pred[i] for i in idx]
        out[name] = {
            "n": len(idx),
            "macro_f1": ev.evaluate(y, p, labels=labels).metrics["macro_f1"],
            "accuracy": sum(a == b for a, b in zip(y, p, strict=True)) / len(idx),
        }
    return out


def real_dev_frame():
    """The real_dev split of the default dataset: every row is scored on the same sentences,
    including rows whose training data leaves the news-derived documents out."""
    from datasets import load_from_disk

    from stancelab.config import compose
    from stancelab.data.build import build_dataset
    from stancelab.training import frames

    cfg = compose([])
    return frames(load_from_disk(str(build_dataset(cfg.dataset).path)))["real_dev"], cfg


def run_row(name: str, overrides: list[str]) -> dict:
    from stancelab import evaluation as ev
    from stancelab.config import compose
    from stancelab.data.readers import expand_paths, read_documents
    from stancelab.training import train

    cfg = compose([*overrides, "tracking=off", "evaluation.plots=false"])
    start = time.perf_counter()
    result = train(cfg)
    seconds = time.perf_counter() - start
    model = result.extras["model"]
    labels = list(cfg.dataset.labels)
    out = {
        "overrides": overrides,
        "seconds": round(seconds, 1),
        "metrics": {
            k: v
            for k, v in result.metrics.items()
            if k.startswith(("val_", "test_")) and "target_" not in k
        },
    }
    dev, default_cfg = real_dev_frame()
    pred = model.predict(dev[["text", "target"]])
    scored = ev.evaluate(
        dev["stance"],
        pred,
        dev["target"],
        labels=labels,
        bootstrap=int(cfg.evaluation.bootstrap),
        seed=int(cfg.seed),
    )
    out["metrics"].update(scored.prefixed("realdev"))
    meta, _ = read_documents(expand_paths(default_cfg.dataset.sources[0].documents))
    rows = frame_with_meta(dev, meta)
    phenomena = {r["id"]: r.get("phenomena") for r in _corpus_rows(default_cfg)}
    out["realdev_by_phenomenon"] = breakdown(
        rows, pred, labels, lambda r: phenomena.get(r["id"]) or ["(untagged)"]
    )
    out["realdev_by_outlet_kind"] = breakdown(rows, pred, labels, lambda r: [r["outlet_kind"]])
    out["realdev_by_gold"] = breakdown(rows, pred, labels, lambda r: [r["stance"]])
    return out


def _corpus_rows(cfg) -> list[dict]:
    from stancelab.data.readers import read_source

    records, _, _ = read_source(dict(cfg.dataset.sources[0]))
    return records


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="*", help="rows to run (default: all)")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    if args.list:
        for name, (what, overrides) in ROWS.items():
            print(f"{name:18} stancelab train {' '.join(map(shlex.quote, overrides))}   # {what}")
        return 0
    path = HERE / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    for name in args.rows or list(ROWS):
        what, overrides = ROWS[name]
        print(f"== {name}: {what}", flush=True)
        try:
            results[name] = {"what": what, **run_row(name, overrides)}
        except Exception as err:  # an optional extra missing: record and go on
            print(f"   skipped: {err}", flush=True)
            continue
        m = results[name]["metrics"]
        print(
            "   "
            + "  ".join(
                f"{k} {m[k]:.3f}"
                for k in ("test_macro_f1", "realdev_macro_f1", "realdev_f1_none")
                if k in m
            ),
            flush=True,
        )
        path.write_text(json.dumps(results, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
