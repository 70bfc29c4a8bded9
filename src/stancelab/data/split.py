"""Train / validation / test (and real_dev) splits that never put one document on both sides.

Sentences of one article share a topic, a voice and often phrasing; splitting them across train
and test inflates scores. Splits are therefore grouped by ``doc_id`` and stratified by label.

``real_dev`` is a split that only a corpus predefines: documents derived from real news pages,
held out to measure what the invented test split cannot (how a model reads real reporting).
It is never carved automatically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from stancelab.data.readers import Record
from stancelab.errors import Problem

SPLITS = ("train", "validation", "test", "real_dev")
_ALIASES = {
    "dev": "validation",
    "val": "validation",
    "valid": "validation",
    "eval": "test",
    "realdev": "real_dev",
    "real-dev": "real_dev",
}


def _grouped_holdout(
    labels: Sequence[str], groups: Sequence[str], fraction: float, seed: int
) -> np.ndarray:
    """Boolean mask of a held-out part of about ``fraction`` of rows, whole groups only."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(set(groups))
    if fraction <= 0 or n_groups < 2:
        return np.zeros(len(labels), dtype=bool)
    n_splits = max(2, min(n_groups, round(1 / fraction)))
    mask = np.zeros(len(labels), dtype=bool)
    try:
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        _, held = next(splitter.split(np.zeros(len(labels)), labels, groups))
    except ValueError:
        # Too few sentences of some label to stratify: hold out whole groups at random.
        names = sorted(set(groups))
        picked = set(np.random.default_rng(seed).permutation(names)[: max(1, n_groups // n_splits)])
        held = [i for i, g in enumerate(groups) if g in picked]
    mask[held] = True
    return mask


def assign_splits(
    records: list[Record], ratios: Mapping[str, float], seed: int, group_by: str = "doc_id"
) -> tuple[dict[str, list[Record]], list[Problem]]:
    """Assign each record to a split.

    A predefined ``split`` on every record wins; a missing validation split is then carved out
    of train. Without predefined splits, test and validation are held out by group, stratified.
    """
    given = [r.get("split") for r in records]
    problems: list[Problem] = []
    if any(given) and not all(given):
        for rec in records:
            if not rec.get("split"):
                problems.append(
                    Problem(
                        *rec["_loc"], "split", "missing while other records have a predefined split"
                    )
                )
        return {}, problems
    groups = [str(r.get(group_by) or r.get("id") or i) for i, r in enumerate(records)]
    labels = [r["stance"] for r in records]
    if all(given):
        names = [_ALIASES.get(str(s).lower(), str(s).lower()) for s in given]
        for rec, name in zip(records, names, strict=True):
            if name not in SPLITS:
                problems.append(
                    Problem(
                        *rec["_loc"],
                        "split",
                        f"unknown split '{rec['split']}' (use train/validation/test/real_dev)",
                    )
                )
        if problems:
            return {}, problems
    else:
        test = _grouped_holdout(labels, groups, ratios.get("test", 0.1), seed)
        names = ["test" if t else "train" for t in test]
    if "validation" not in names:
        train_idx = [i for i, n in enumerate(names) if n == "train"]
        share = ratios.get("validation", 0.1) / max(
            1e-9, ratios.get("train", 0.8) + ratios.get("validation", 0.1)
        )
        held = _grouped_holdout(
            [labels[i] for i in train_idx], [groups[i] for i in train_idx], share, seed + 1
        )
        for i, is_held in zip(train_idx, held, strict=True):
            if is_held:
                names[i] = "validation"
    out: dict[str, list[Record]] = {s: [] for s in SPLITS}
    for rec, name in zip(records, names, strict=True):
        out[name].append(rec)
    return out, problems
