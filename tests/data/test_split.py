from __future__ import annotations

from stancelab.data.split import assign_splits


def records(n_docs=20, per_doc=5, split=None):
    out = []
    for d in range(n_docs):
        for s in range(per_doc):
            out.append(
                {
                    "id": f"{d}-{s}",
                    "doc_id": f"d{d}",
                    "stance": ["favor", "against", "none"][(d + s) % 3],
                    "split": split,
                    "_loc": ("f", d * per_doc + s + 1),
                }
            )
    return out


def test_no_document_on_two_sides_and_ratios_roughly_kept():
    splits, problems = assign_splits(records(), {"train": 0.8, "validation": 0.1, "test": 0.1}, 0)
    assert problems == []
    docs = {name: {r["doc_id"] for r in recs} for name, recs in splits.items()}
    assert not (docs["train"] & docs["test"]) and not (docs["train"] & docs["validation"])
    assert not (docs["validation"] & docs["test"])
    assert len(docs["test"]) == 2 and len(docs["validation"]) >= 1
    assert sum(len(v) for v in splits.values()) == 100


def test_split_is_deterministic_for_a_seed_and_varies_with_it():
    ratios = {"train": 0.8, "validation": 0.1, "test": 0.1}
    a, _ = assign_splits(records(), ratios, 1)
    b, _ = assign_splits(records(), ratios, 1)
    c, _ = assign_splits(records(), ratios, 2)
    ids = lambda s: sorted(r["id"] for r in s["test"])  # noqa: E731
    assert ids(a) == ids(b)
    assert ids(a) != ids(c)


def test_predefined_split_wins_and_validation_is_carved_from_train():
    recs = records(split="train")
    for r in recs[:10]:
        r["split"] = "test"
    splits, problems = assign_splits(recs, {"train": 0.8, "validation": 0.1}, 0)
    assert problems == []
    assert {r["id"] for r in splits["test"]} == {r["id"] for r in recs[:10]}
    assert splits["validation"]


def test_partial_or_unknown_splits_are_located_problems():
    recs = records(n_docs=2, per_doc=2, split="train")
    recs[1]["split"] = None
    _, problems = assign_splits(recs, {}, 0)
    assert [(p.line, p.field) for p in problems] == [(2, "split")]
    recs[1]["split"] = "holdout"
    _, problems = assign_splits(recs, {}, 0)
    assert "unknown split 'holdout'" in problems[0].message


def test_tiny_datasets_still_split_by_group():
    recs = records(n_docs=3, per_doc=1)
    splits, problems = assign_splits(recs, {"train": 0.8, "validation": 0.1, "test": 0.1}, 0)
    assert problems == [] and sum(len(v) for v in splits.values()) == 3
    assert splits["test"] and splits["train"]


def test_a_predefined_real_dev_split_stays_apart_and_is_never_carved():
    recs = records(n_docs=20, split="train")
    for rec in recs:
        if rec["doc_id"] in {"d3", "d4"}:
            rec["split"] = "real_dev" if rec["doc_id"] == "d3" else "realdev"
    splits, problems = assign_splits(recs, {"train": 0.8, "validation": 0.1, "test": 0.1}, 0)
    assert problems == []
    assert {r["doc_id"] for r in splits["real_dev"]} == {"d3", "d4"}
    assert splits["validation"] and not splits["test"]
    assert not {r["doc_id"] for r in splits["validation"]} & {"d3", "d4"}
    # Without predefined splits nothing lands in real_dev.
    carved, _ = assign_splits(records(), {"train": 0.8, "validation": 0.1, "test": 0.1}, 0)
    assert carved["real_dev"] == []
