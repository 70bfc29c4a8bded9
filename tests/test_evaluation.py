"""The measures, checked by hand on a case small enough to count."""

from __future__ import annotations

import numpy as np
import pytest

from stancelab import evaluation as ev

# 10 sentences. favor: 3 right of 4; against: 2 right of 3 (one called favor); none: 2 of 3.
TRUE = ["favor"] * 4 + ["against"] * 3 + ["none"] * 3
PRED = ["favor", "favor", "favor", "none", "against", "against", "favor", "none", "none", "against"]
TARGETS = ["a"] * 5 + ["b"] * 5


def test_scores_match_a_hand_count():
    result = ev.evaluate(TRUE, PRED, TARGETS)
    m = result.metrics
    # favor: P 3/4, R 3/4 → F1 .75; against: P 2/3, R 2/3 → .667; none: P 2/3, R 2/3 → .667
    assert m["f1_favor"] == pytest.approx(0.75)
    assert m["f1_against"] == pytest.approx(2 / 3)
    assert m["accuracy"] == pytest.approx(0.7)
    assert m["macro_f1"] == pytest.approx((0.75 + 2 / 3 + 2 / 3) / 3)
    assert m["f_avg"] == pytest.approx((0.75 + 2 / 3) / 2)  # none's F1 is not averaged in
    assert result.confusion.tolist() == [[3, 0, 1], [1, 2, 0], [0, 1, 2]]
    # target a: 4 favor (3 right) + 1 against (right) → F1 favor 6/7, against 1
    assert m["target_a_f_avg"] == pytest.approx((6 / 7 + 1.0) / 2)
    assert m["target_b_n"] == 5


def test_unknown_labels_are_named():
    with pytest.raises(ValueError, match="neutral"):
        ev.evaluate(["favor"], ["neutral"])


def _row_bootstrap(t: np.ndarray, p: np.ndarray, k: int, resamples: int) -> np.ndarray:
    """The textbook way: resample the rows, score each resample."""
    rng = np.random.default_rng(1)
    values = []
    for _ in range(resamples):
        idx = rng.integers(0, len(t), len(t))
        cm = ev._confusion(t[idx], p[idx], k)
        _, _, f1 = ev._prf(cm)
        present = (cm.sum(axis=0) + cm.sum(axis=1)) > 0
        values.append(f1[present].mean())
    return np.percentile(values, [2.5, 97.5])


def test_bootstrap_interval_agrees_with_resampling_rows():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 3, 400)
    p = np.where(rng.random(400) < 0.7, t, rng.integers(0, 3, 400))  # ~77% right
    low, high = ev.bootstrap_macro_f1(t, p, 3, 4000, seed=3)
    ref_low, ref_high = _row_bootstrap(t, p, 3, 4000)
    point = ev.evaluate([str(x) for x in t], [str(x) for x in p], labels=["0", "1", "2"])
    assert low < point.metrics["macro_f1"] < high
    assert low == pytest.approx(ref_low, abs=0.01) and high == pytest.approx(ref_high, abs=0.01)
    assert ev.bootstrap_macro_f1(t, p, 3, 200, seed=3) == ev.bootstrap_macro_f1(t, p, 3, 200, 3)


def test_confusion_plot_and_report(tmp_path):
    result = ev.evaluate(TRUE, PRED, TARGETS, bootstrap=100)
    path = ev.plot_confusion(result, tmp_path / "cm.png", "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = ev.summary_table(result)
    assert "| favor | 0.750 | 0.750 | 0.750 |" in table
    assert "macro-F1 95% CI" in table and "| a | 5 |" in table
