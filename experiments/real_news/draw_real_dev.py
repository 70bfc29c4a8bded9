"""The draw that chose the real_dev documents (run once, 2026-12-04; kept to show how).

real_dev must hold news-derived documents that no model was trained on before the choice. Two
exploratory fits (tracking off, never scored on news documents) ran while the batches were
being written; the documents that existed then are listed in their dataset builds' manifests
(.stancelab/datasets/*/build.json, ``files``) and were excluded. From the rest, a seeded draw
per outlet kind took 16 Western, 12 Ukrainian, 12 Russian state or aligned and 12 opinion /
think-tank documents, and marked them ``"split": "real_dev"`` in seeds/documents/n*.jsonl.

    python experiments/real_news/draw_real_dev.py experiments/real_news/excluded_from_real_dev.json
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUOTA = {"western_news": 16, "ukrainian": 12, "russian_state": 12, "opinion": 12}
SEED = 2026


def main(seen_file: str) -> None:
    seen = set(json.loads(Path(seen_file).read_text()))
    files = sorted((ROOT / "seeds" / "documents").glob("n*.jsonl"))
    meta = {}
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            meta[doc["doc_id"]] = (f, doc)
    rng = random.Random(SEED)
    chosen = set()
    for kind, n in QUOTA.items():
        pool = sorted(d for d, (_, m) in meta.items() if m["outlet_kind"] == kind and d not in seen)
        chosen |= set(rng.sample(pool, n))
    for f in files:
        rows = [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines()]
        for row in rows:
            if row["doc_id"] in chosen:
                row["split"] = "real_dev"
        f.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
    print(f"{len(chosen)} documents moved to real_dev")


if __name__ == "__main__":
    main(sys.argv[1])
