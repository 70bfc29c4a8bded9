"""Choose the blend's member weights on validation, then score the choice on real_dev.

Trains each member once (the Quick start n-gram model, and the fine-tuned MiniLM), scores the
news-derived validation documents and real_dev, and tries weights for the n-gram member from
0 to 1 (the encoder gets the rest). The weight with the best validation macro-F1 is the one to
put in conf/model/blend_minilm.yaml; real_dev is reported for every weight so the reader can
see how much the choice matters, but it does not choose.

    python experiments/real_news/blend_weights.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
MEMBERS = {"ngrams": [], "encoder": ["features=raw", "model=minilm_finetune"]}


def main() -> None:
    from datasets import load_from_disk

    from stancelab import evaluation as ev
    from stancelab.config import compose
    from stancelab.data.build import build_dataset
    from stancelab.models import build_model
    from stancelab.training import frames

    cfg = compose(["tracking=off"])
    data = frames(load_from_disk(str(build_dataset(cfg.dataset).path)))
    val = data["validation"][data["validation"]["doc_id"].str.startswith("n")]
    dev = data["real_dev"]
    labels = list(cfg.dataset.labels)
    proba: dict[str, dict[str, np.ndarray]] = {}
    classes = None
    for name, overrides in MEMBERS.items():
        model = build_model(compose([*overrides, "tracking=off"]))
        model.fit(data["train"][["text", "target"]], data["train"]["stance"])
        classes = list(model.classes_)
        proba[name] = {
            "val": model.predict_proba(val[["text", "target"]]),
            "dev": model.predict_proba(dev[["text", "target"]]),
        }
        print(f"trained {name}", flush=True)
    rows = []
    for w in np.round(np.arange(0.0, 1.01, 0.1), 2):
        scores = {}
        for split, frame in (("val", val), ("dev", dev)):
            p = w * proba["ngrams"][split] + (1 - w) * proba["encoder"][split]
            pred = np.array(classes, dtype=object)[p.argmax(axis=1)]
            scores[split] = ev.evaluate(frame["stance"], pred, labels=labels).metrics["macro_f1"]
        rows.append(
            {
                "ngrams_weight": float(w),
                "val_news_macro_f1": scores["val"],
                "realdev_macro_f1": scores["dev"],
            }
        )
        print(
            f"ngrams weight {w:.1f}: validation (news) {scores['val']:.3f}  "
            f"real_dev {scores['dev']:.3f}",
            flush=True,
        )
    best = max(rows, key=lambda r: r["val_news_macro_f1"])
    print(
        f"chosen on validation: ngrams weight {best['ngrams_weight']:.1f} "
        f"(real_dev {best['realdev_macro_f1']:.3f})"
    )
    (HERE / "blend_weights.json").write_text(json.dumps({"rows": rows, "chosen": best}, indent=1))


if __name__ == "__main__":
    main()
