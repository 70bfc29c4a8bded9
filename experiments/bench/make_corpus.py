"""Synthetic stance corpora of any size, made from the project's annotated corpus (seeds/corpus).

Each synthetic sentence is one annotated seed sentence ``A`` followed by a short run of words
(4 to 12) cut from another seed sentence ``B`` with the *same target and label* (``A`` keeps its
label). Sentences go into synthetic documents of ``DOC_SIZE`` consecutive sentences (``doc_id``
``syn-<n>``); each synthetic document is assigned to train / validation / test (80/10/10) by the
seeded generator, written as the ``split`` field. So that validation and test scores mean what
they mean on the real corpus (and can serve to check that two pipelines are the same), ``A`` and
``B`` come from a pool of seed sentences tied to that split: seed documents in the corpus' fixed
test split feed synthetic test documents; of the seed training documents, every 9th (sorted by
``doc_id``) feeds validation and the rest feed train. Within its pool ``A`` is drawn uniformly
with replacement, so the target × label mix follows the pool's. Every sentence is checked
against all those already made with the normalised key stancelab's deduplication uses (case-,
spacing- and punctuation-insensitive); a collision is redrawn, so stancelab's builder keeps
every row.

Usage: ``python make_corpus.py N OUT.jsonl [--seed S]`` (or ``make_corpus(n, path, seed)``).
"""

from __future__ import annotations

import argparse
import glob
import json
import random
import re
import unicodedata
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEED_GLOB = str(REPO / "seeds" / "corpus" / "*.jsonl")
DOC_GLOB = str(REPO / "seeds" / "documents" / "*.jsonl")
DOC_SIZE = 25
SPLIT_WEIGHTS = (("train", 0.8), ("validation", 0.1), ("test", 0.1))
_NON_WORD = re.compile(r"[^\w]+")


def normalized_key(text: str) -> str:
    """Same rule as stancelab.data.normalize.normalized_key (kept here so this runs standalone)."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKD", text).casefold()).strip()


def seed_pools() -> dict[str, list[dict[str, str]]]:
    """The seed sentences by the split they feed (see the module docstring)."""
    doc_split: dict[str, str] = {}
    for path in sorted(glob.glob(DOC_GLOB)):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    obj = json.loads(line)
                    doc_split[obj["doc_id"]] = obj.get("split") or "train"
    train_docs = sorted(d for d, s in doc_split.items() if s != "test")
    for i, doc in enumerate(train_docs):
        if i % 9 == 4:
            doc_split[doc] = "validation"
    pools: dict[str, list[dict[str, str]]] = {name: [] for name, _ in SPLIT_WEIGHTS}
    for path in sorted(glob.glob(SEED_GLOB)):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    obj = json.loads(line)
                    split = doc_split.get(obj.get("doc_id"), "train")
                    pools[split].append(
                        {"text": obj["text"], "target": obj["target"], "stance": obj["stance"]}
                    )
    return pools


def records(n: int, seed: int = 0):
    """Yield ``n`` unique ``(text, target, stance, split)`` tuples, documents of DOC_SIZE."""
    rng = random.Random(seed)
    split_rng = random.Random(seed + 1)
    names = [s for s, _ in SPLIT_WEIGHTS]
    weights = [w for _, w in SPLIT_WEIGHTS]
    pools = seed_pools()
    groups: dict[tuple[str, str, str], list[list[str]]] = defaultdict(list)
    for split, rows in pools.items():
        for row in rows:
            groups[(split, row["target"], row["stance"])].append(row["text"].split())
    seen: set[str] = set()
    made = 0
    split = names[0]
    while made < n:
        if made % DOC_SIZE == 0:
            split = split_rng.choices(names, weights)[0]
        pool = pools[split]
        a = pool[rng.randrange(len(pool))]
        words = rng.choice(groups[(split, a["target"], a["stance"])])
        k = rng.randint(4, 12)
        start = rng.randrange(max(1, len(words) - k + 1))
        text = a["text"] + " " + " ".join(words[start : start + k])
        key = normalized_key(text)
        if key in seen:
            continue
        seen.add(key)
        made += 1
        yield text, a["target"], a["stance"], split


def make_corpus(n: int, out: str | Path, seed: int = 0) -> Path:
    """Write ``n`` sentences as stancelab JSONL (id, doc_id, text, target, stance, split)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".part")
    with open(tmp, "w", encoding="utf-8") as fh:
        for i, (text, target, stance, split) in enumerate(records(n, seed)):
            fh.write(
                json.dumps(
                    {
                        "id": f"syn-{i}",
                        "doc_id": f"syn-{i // DOC_SIZE}",
                        "text": text,
                        "target": target,
                        "stance": stance,
                        "split": split,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    tmp.replace(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int)
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(make_corpus(args.n, args.out, args.seed))


if __name__ == "__main__":
    main()
