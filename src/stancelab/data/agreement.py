"""Inter-annotator agreement: Krippendorff's alpha (nominal) and Cohen's kappa.

Written out here rather than pulled from a package: both are a few lines over a coincidence
matrix, and the dataset card needs them for every build.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from itertools import combinations, permutations

from stancelab.data.readers import Record


def krippendorff_alpha(units: Sequence[Sequence[str]]) -> float | None:
    """Nominal alpha over units, each the list of labels it received (missing values omitted).

    Units with fewer than two labels carry no information about agreement and are skipped.
    Returns ``None`` when there is nothing to measure.
    """
    coincidence: Counter[tuple[str, str]] = Counter()
    for labels in units:
        m = len(labels)
        if m < 2:
            continue
        for a, b in permutations(range(m), 2):
            coincidence[(labels[a], labels[b])] += 1.0 / (m - 1)
    n = sum(coincidence.values())
    if n == 0:
        return None
    marginals: Counter[str] = Counter()
    for (a, _), weight in coincidence.items():
        marginals[a] += weight
    observed = sum(w for (a, b), w in coincidence.items() if a != b) / n
    expected = sum(marginals[a] * marginals[b] for a in marginals for b in marginals if a != b)
    expected /= n * (n - 1)
    if expected == 0:
        return 1.0
    return 1.0 - observed / expected


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Cohen's kappa of two annotators over the items both labelled."""
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    ca, cb = Counter(first), Counter(second)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    if expected == 1:
        return 1.0
    return (observed - expected) / (1 - expected)


def agreement_report(records: Sequence[Record]) -> dict:
    """Alpha per target and kappa per annotator pair, from records before aggregation."""
    by_unit: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for rec in records:
        if rec.get("annotator") is None:
            continue
        unit = (rec["target"], rec.get("id") or rec["text"])
        by_unit[unit][str(rec["annotator"])] = rec["stance"]
    multi = {u: labels for u, labels in by_unit.items() if len(labels) > 1}
    if not multi:
        return {}
    alpha: dict[str, float | None] = {}
    for target in sorted({u[0] for u in multi}):
        alpha[target] = krippendorff_alpha(
            [list(v.values()) for u, v in multi.items() if u[0] == target]
        )
    annotators = sorted({a for labels in multi.values() for a in labels})
    kappa = {}
    for a, b in combinations(annotators, 2):
        shared = [(v[a], v[b]) for v in multi.values() if a in v and b in v]
        if shared:
            kappa[f"{a}|{b}"] = cohen_kappa([s[0] for s in shared], [s[1] for s in shared])
    return {"units": len(multi), "krippendorff_alpha": alpha, "cohen_kappa": kappa}
