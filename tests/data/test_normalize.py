from __future__ import annotations

from stancelab.data.normalize import (
    aggregate,
    apply_label_map,
    check_ids,
    clean_text,
    deduplicate,
    normalized_key,
    select_targets,
)

RESIDUE = ["ARTICLE AD BOX", "Read more(?=[A-Z\\s]|$)"]


def rec(text="t", stance="favor", target="x", rid=None, annotator=None, line=1):
    return {
        "id": rid,
        "text": text,
        "stance": stance,
        "target": target,
        "annotator": annotator,
        "_loc": ("f.jsonl", line),
    }


def test_clean_text_removes_web_residue_and_spaces():
    assert (
        clean_text("Read moreAccording to the BBC,  it  was", RESIDUE)
        == "According to the BBC, it was"
    )
    assert clean_text("ARTICLE AD BOX", RESIDUE) == ""
    assert clean_text("Users can read more here", RESIDUE) == "Users can read more here"


def test_label_map_is_case_insensitive_and_unknown_labels_are_located():
    records, problems = apply_label_map(
        [rec(stance="PRO"), rec(stance="Favor"), rec(stance="maybe", line=9)],
        {"pro": "favor"},
        ["favor", "against", "none"],
    )
    assert [r["stance"] for r in records] == ["favor", "favor"]
    assert len(problems) == 1 and problems[0].line == 9 and "maybe" in problems[0].message


def test_targets_are_renamed_then_filtered():
    out = select_targets(
        [rec(target="HC"), rec(target="Other")], ["Hillary Clinton"], {"HC": "Hillary Clinton"}
    )
    assert [r["target"] for r in out] == ["Hillary Clinton"]


def test_dedup_counts_exact_and_normalised_and_conflicting():
    records = [
        rec("Troops, now!"),
        rec("Troops, now!"),
        rec("troops now", stance="against"),
        rec("troops now", target="other"),
    ]
    kept, counts = deduplicate(records)
    assert len(kept) == 2
    assert counts == {"exact": 1, "normalized": 1, "conflicting": 1}
    assert normalized_key("  Hello,   WORLD! ") == "hello world"


def test_majority_aggregation_with_tie_policies():
    votes = [
        rec("a", "favor", rid="1", annotator="x"),
        rec("a", "favor", rid="1", annotator="y"),
        rec("a", "none", rid="1", annotator="z"),
        rec("b", "favor", rid="2", annotator="x"),
        rec("b", "none", rid="2", annotator="y"),
    ]
    dropped, ties = aggregate(votes, tie="drop")
    assert [(r["id"], r["stance"]) for r in dropped] == [("1", "favor")] and ties == 1
    kept, _ = aggregate(votes, tie="none")
    assert [(r["id"], r["stance"]) for r in kept] == [("1", "favor"), ("2", "none")]


def test_conflicting_ids_are_errors():
    problems = check_ids(
        [
            rec("a", rid="1", line=1),
            rec("b", rid="1", line=2),
            rec("c", rid="2", annotator="x", line=3),
            rec("c", rid="2", annotator="x", line=4),
        ]
    )
    assert [(p.line, p.field) for p in problems] == [(2, "id"), (4, "id")]
    assert "already used for a different text at f.jsonl:1" in problems[0].message


def test_dedup_can_be_turned_off_for_official_benchmark_sets():
    records = [rec("Same."), rec("Same.")]
    kept, counts = deduplicate(records, normalized=False, exact=False)
    assert len(kept) == 2 and counts["exact"] == 0


def test_each_dedup_switch_works_on_its_own():
    records = [rec("Troops, now!"), rec("Troops, now!"), rec("troops now")]
    kept, counts = deduplicate(records, normalized=True, exact=False)
    assert [r["text"] for r in kept] == ["Troops, now!"]  # near repeats include exact ones
    assert counts["exact"] + counts["normalized"] == 2
    kept, counts = deduplicate(records, normalized=False, exact=True)
    assert [r["text"] for r in kept] == ["Troops, now!", "troops now"]
    assert counts == {"exact": 1, "normalized": 0, "conflicting": 0}
