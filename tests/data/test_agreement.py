from __future__ import annotations

import pytest

from stancelab.data.agreement import agreement_report, cohen_kappa, krippendorff_alpha


def test_alpha_is_one_for_perfect_agreement_and_matches_a_hand_computation():
    assert krippendorff_alpha([["a", "a"], ["b", "b"], ["a", "a"]]) == 1.0
    # 4 units, 2 coders: a/a, a/b, b/b, b/b. Coincidences: o_aa=2, o_ab=o_ba=1, o_bb=4; n=8,
    # n_a=3, n_b=5. D_o = 2/8; D_e = 2*3*5/(8*7) = 30/56; alpha = 1 - (0.25)/(30/56) = 0.5333.
    assert krippendorff_alpha([["a", "a"], ["a", "b"], ["b", "b"], ["b", "b"]]) == pytest.approx(
        1 - 0.25 / (30 / 56)
    )
    assert krippendorff_alpha([["a"], ["b"]]) is None


def test_kappa_against_a_known_value():
    first = ["y", "y", "n", "n", "y", "n"]
    second = ["y", "n", "n", "n", "y", "y"]
    # p_o = 4/6; p_e = (3*3 + 3*3)/36 = 0.5; kappa = (2/3 - 1/2) / (1/2) = 1/3
    assert cohen_kappa(first, second) == pytest.approx(1 / 3)


def test_report_per_target_and_pair():
    recs = [
        {"id": str(i), "text": str(i), "target": "t", "stance": s, "annotator": a}
        for i, pair in enumerate([("favor", "favor"), ("none", "favor"), ("none", "none")])
        for a, s in zip(("ann1", "ann2"), pair, strict=True)
    ]
    report = agreement_report(recs)
    assert report["units"] == 3
    assert set(report["krippendorff_alpha"]) == {"t"}
    assert set(report["cohen_kappa"]) == {"ann1|ann2"}
