"""Normalisation: one vocabulary of labels and targets, clean text, no duplicates.

Each step is a small pure function over the list of records so that it can be tested alone and
so that ``build`` can report what each step removed.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from stancelab.data.readers import Record
from stancelab.errors import Problem

_WORD = re.compile(r"\w+")


def residue_pattern(residue: Sequence[str]) -> re.Pattern[str] | None:
    """The residue expressions as one compiled alternation: one scan of each text, not one each."""
    return re.compile("|".join(f"(?:{p})" for p in residue)) if residue else None


def clean_text(text: str, residue: Sequence[str] | re.Pattern[str] | None = ()) -> str:
    """Normalise Unicode and whitespace, and drop web-page residue such as "Read more".

    ``residue`` holds regular expressions (or one compiled :func:`residue_pattern`) for
    boilerplate that pages glue onto sentences; they are removed wherever they occur, so
    "Read moreAccording to the BBC" becomes "According to the BBC".
    """
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    if residue:
        pattern = residue if isinstance(residue, re.Pattern) else residue_pattern(residue)
        text = pattern.sub(" ", text)
    return " ".join(text.split())  # every run of (Unicode) whitespace → one space, ends trimmed


def normalized_key(text: str) -> str:
    """The key two sentences share when they differ only in case, spacing or punctuation."""
    folded = text.casefold() if text.isascii() else unicodedata.normalize("NFKD", text).casefold()
    return " ".join(_WORD.findall(folded))


def apply_label_map(
    records: Iterable[Record], label_map: Mapping[str, str], labels: Sequence[str]
) -> tuple[list[Record], list[Problem]]:
    """Map raw labels onto the configured label set; unknown labels are located errors.

    Matching is case-insensitive so that ``FAVOR``, ``Favor`` and ``favor`` need one entry.
    """
    lookup = {k.casefold(): v for k, v in label_map.items()}
    lookup.update({label.casefold(): label for label in labels})
    kept: list[Record] = []
    problems: list[Problem] = []
    for rec in records:
        raw = str(rec["stance"]).strip()
        mapped = lookup.get(raw.casefold())
        if mapped is None:
            file, line = rec["_loc"]
            problems.append(
                Problem(
                    file,
                    line,
                    "stance",
                    (
                        f"unknown label '{raw}' (expected one of: {', '.join(labels)}; "
                        "or add it to dataset.label_map)"
                    ),
                )
            )
            continue
        kept.append({**rec, "stance": mapped})
    return kept, problems


def select_targets(
    records: Iterable[Record], keep: Sequence[str] | None, rename: Mapping[str, str]
) -> list[Record]:
    """Rename targets first, then keep only the configured ones (all when ``keep`` is empty)."""
    out = []
    for rec in records:
        target = rename.get(rec["target"], rec["target"]).strip()
        if not keep or target in keep:
            out.append({**rec, "target": target})
    return out


def clean_records(
    records: Iterable[Record],
    residue: Sequence[str],
    min_chars: int,
) -> tuple[list[Record], int]:
    """Clean every text; drop those shorter than ``min_chars`` after cleaning."""
    compiled = residue_pattern(residue)
    out, dropped = [], 0
    for rec in records:
        text = clean_text(rec["text"], compiled)
        if len(text) < min_chars:
            dropped += 1
            continue
        out.append({**rec, "text": text})
    return out, dropped


def check_ids(records: Sequence[Record]) -> list[Problem]:
    """Two records may share an id only as two annotators' labels of the same text."""
    seen: dict[str, Record] = {}
    problems = []
    annotated: set[tuple[str, Any]] = set()
    for rec in records:
        rid = rec.get("id")
        if rid in (None, ""):
            continue
        file, line = rec["_loc"]
        first = seen.setdefault(rid, rec)
        key = (rid, rec.get("annotator"))
        if first is not rec and first["text"] != rec["text"]:
            ffile, fline = first["_loc"]
            problems.append(
                Problem(
                    file,
                    line,
                    "id",
                    (f"id '{rid}' is already used for a different text at {ffile}:{fline}"),
                )
            )
        elif key in annotated:
            problems.append(
                Problem(
                    file,
                    line,
                    "id",
                    (
                        f"id '{rid}' is annotated twice by the same annotator "
                        f"'{rec.get('annotator')}'"
                    ),
                )
            )
        annotated.add(key)
    return problems


def aggregate(records: Sequence[Record], tie: str = "drop") -> tuple[list[Record], int]:
    """Collapse several annotators' labels of one sentence into one, by majority vote.

    Records are grouped by id (or by text and target when there is no id). ``tie`` is either
    ``"drop"`` (a sentence without a majority is left out) or a label given to ties. Returns the
    aggregated records and the number of tied sentences.
    """
    groups: dict[Any, list[Record]] = defaultdict(list)
    for rec in records:
        key = rec.get("id") or (rec["text"], rec["target"])
        groups[key].append(rec)
    out, ties = [], 0
    for members in groups.values():
        if len(members) == 1:
            out.append(members[0])
            continue
        votes = Counter(m["stance"] for m in members).most_common()
        if len(votes) > 1 and votes[0][1] == votes[1][1]:
            ties += 1
            if tie == "drop":
                continue
            label = tie
        else:
            label = votes[0][0]
        out.append(
            {**members[0], "stance": label, "annotator": None, "n_annotations": len(members)}
        )
    return out, ties


def deduplicate(
    records: Sequence[Record],
    normalized: bool = True,
    exact: bool = True,
) -> tuple[list[Record], dict[str, int]]:
    """Drop repeated sentences (same target), keeping the first; count exact and near repeats.

    Exact duplicates have identical text; normalised duplicates differ only in case, spacing or
    punctuation. A repeat with a *different* label is still dropped (the first wins) and
    counted under ``conflicting`` so that the dataset card shows it. ``normalized`` alone
    also drops identical texts (they are near-identical too); benchmarks turn both off to
    keep official sets intact.
    """
    counts = {"exact": 0, "normalized": 0, "conflicting": 0}
    if not (exact or normalized):
        return list(records), counts
    seen_exact: dict[tuple[str, str], str] = {}
    seen_norm: dict[tuple[str, str], str] = {}
    out = []
    for rec in records:
        exact = (rec["target"], rec["text"])
        norm = (rec["target"], normalized_key(rec["text"]))
        if exact in seen_exact:
            counts["exact"] += 1
            counts["conflicting"] += seen_exact[exact] != rec["stance"]
            continue
        if normalized and norm in seen_norm:
            counts["normalized"] += 1
            counts["conflicting"] += seen_norm[norm] != rec["stance"]
            continue
        seen_exact[exact] = seen_norm[norm] = rec["stance"]
        out.append(rec)
    return out, counts
