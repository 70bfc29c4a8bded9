"""Synthetic stance corpora of any size, made from the project's annotated corpus (seeds/corpus).

Each synthetic sentence is one annotated seed sentence ``A`` followed by a short run of words
(4 to 12) cut from another seed sentence ``B`` with the *same target and label*. ``A`` is drawn
uniformly (with replacement) from the corpus, so the target × label mix follows the corpus'.
Every sentence is checked against the ones already made with the same normalised key
stancelab's deduplication uses (case-, spacing- and punctuation-insensitive); a collision is
redrawn, so stancelab's builder keeps all rows. Sentences go into synthetic documents of
``DOC_SIZE`` consecutive sentences (``doc_id`` ``syn-<n>``), and whole documents are assigned to
train / validation / test (80/10/10) by the seeded generator, written as the ``split`` field.

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
DOC_SIZE = 25
SPLIT_WEIGHTS = (("train", 0.8), ("validation", 0.1), ("test", 0.1))
_NON_WORD = re.compile(r"[^\w]+")


def normalized_key(text: str) -> str:
    """Same rule as stancelab.data.normalize.normalized_key (kept here so this runs standalone)."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKD", text).casefold()).strip()


def load_seeds() -> list[dict[str, str]]:
    rows = []
    for path in sorted(glob.glob(SEED_GLOB)):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    obj = json.loads(line)
                    rows.append({"text": obj["text"], "target": obj["target"],
                                 "stance": obj["stance"]})
    return rows


def sentences(n: int, seed: int = 0):
    """Yield ``n`` unique ``(text, target, stance)`` triples."""
    rng = random.Random(seed)
    seeds = load_seeds()
    groups: dict[tuple[str, str], list[list[str]]] = defaultdict(list)
    for row in seeds:
        groups[(row["target"], row["stance"])].append(row["text"].split())
    seen: set[str] = set()
    made = 0
    while made < n:
        a = seeds[rng.randrange(len(seeds))]
        words = rng.choice(groups[(a["target"], a["stance"])])
        k = rng.randint(4, 12)
        start = rng.randrange(max(1, len(words) - k + 1))
        text = a["text"] + " " + " ".join(words[start:start + k])
        key = normalized_key(text)
        if key in seen:
            continue
        seen.add(key)
        made += 1
        yield text, a["target"], a["stance"]


def make_corpus(n: int, out: str | Path, seed: int = 0) -> Path:
    """Write ``n`` sentences in stancelab's JSONL format (id, doc_id, text, target, stance, split)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    split_rng = random.Random(seed + 1)
    names = [s for s, _ in SPLIT_WEIGHTS]
    weights = [w for _, w in SPLIT_WEIGHTS]
    tmp = out.with_suffix(out.suffix + ".part")
    split = "train"
    with open(tmp, "w", encoding="utf-8") as fh:
        for i, (text, target, stance) in enumerate(sentences(n, seed)):
            if i % DOC_SIZE == 0:
                split = split_rng.choices(names, weights)[0]
            fh.write(json.dumps({"id": f"syn-{i}", "doc_id": f"syn-{i // DOC_SIZE}",
                                 "text": text, "target": target, "stance": stance,
                                 "split": split}, ensure_ascii=False) + "\n")
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
