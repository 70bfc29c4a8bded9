"""StanceClassifier: fitting per mode, unknown targets, and the compact saved state."""

from __future__ import annotations

import pickle
import zipfile

import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from stancelab import persistence
from stancelab.errors import UnknownTargetError
from stancelab.models import StanceClassifier, _pack, _unpack, _vectorizers, make_pipeline

TEXTS = [
    "Send the trainers now.",
    "Never send troops there.",
    "The summit starts today.",
    "Boots on the ground would help.",
    "No soldiers, ever.",
    "Talks resume on Monday.",
]
LABELS = ["favor", "against", "none"] * 2
X = pd.DataFrame({"text": TEXTS, "target": ["troops"] * 3 + ["aid"] * 3})


def fitted(per_target: bool = False) -> StanceClassifier:
    features = TfidfVectorizer(ngram_range=(1, 2))
    return StanceClassifier(
        make_pipeline(features, LogisticRegression()), per_target=per_target
    ).fit(X, LABELS)


def test_vocabulary_packs_into_one_string_and_back():
    vocabulary = {"b": 1, "a": 0, "c d": 2}
    packed = _pack(vocabulary)
    assert packed == "a\x00b\x00c d"
    assert _unpack(packed) == vocabulary
    assert _pack({"x": 0, "y": 2}) == {"x": 0, "y": 2}  # gaps: left as it is
    assert _pack({"x\x00y": 0}) == {"x\x00y": 0}  # the separator inside a term: left as it is
    assert _unpack("") == {}


@pytest.mark.parametrize("per_target", [False, True])
def test_saved_state_is_compact_and_the_live_model_is_untouched(per_target, tmp_path):
    model = fitted(per_target)
    expected = model.predict_proba(X)
    state = model.__getstate__()
    key = "estimators_" if per_target else "estimator_"
    packed = _vectorizers(state[key])
    assert packed and all(isinstance(v.vocabulary_, str) for v in packed)
    assert all(isinstance(v.vocabulary_, dict) for v in _vectorizers(getattr(model, key)))

    path = tmp_path / "model.skops"
    persistence.save(model, path)
    with zipfile.ZipFile(path) as z:
        schema = z.read("schema.json").decode()
    assert '"boots on"' not in schema and "boots on" in schema  # one string, not a dict node
    for loaded in (persistence.load(path), pickle.loads(pickle.dumps(model))):
        assert all(isinstance(v.vocabulary_, dict) for v in _vectorizers(getattr(loaded, key)))
        assert (loaded.predict_proba(X) == expected).all()


def test_unknown_target_is_named():
    with pytest.raises(UnknownTargetError, match=r"'sanctions'.*'aid', 'troops'"):
        fitted().predict(pd.DataFrame({"text": ["x"], "target": ["sanctions"]}))


def test_blend_averages_its_members_and_saves_with_skops(tmp_path, overrides):
    from sklearn.linear_model import LogisticRegression

    from stancelab import persistence
    from stancelab.config import compose
    from stancelab.features import tfidf
    from stancelab.models import Blend, make_pipeline
    from stancelab.training import train

    members = {
        "word": {"features": tfidf("word", (1, 2)), "classifier": LogisticRegression()},
        "char": {"features": tfidf("char_wb", (2, 4)), "classifier": LogisticRegression(C=5)},
    }
    result = train(
        compose(
            [
                *overrides,
                "tracking=off",
                "features=raw",
                "model=blend_minilm",
                "model.members.encoder=null",
            ]
        )
    )
    assert 0.0 <= result.metrics["test_macro_f1"] <= 1.0
    import pandas as pd

    X = pd.DataFrame(
        {
            "text": ["Rome ruled out troops.", "Oslo may send trainers.", "Talks."],
            "target": ["troop deployment to Ukraine"] * 3,
        }
    )
    y = ["against", "favor", "none"]
    blend = Blend(members, weights={"word": 3.0, "char": 1.0}).fit(X, y)
    parts = {n: make_pipeline(m["features"], m["classifier"]).fit(X, y) for n, m in members.items()}
    expected = (3 * parts["word"].predict_proba(X) + parts["char"].predict_proba(X)) / 4
    assert abs(blend.predict_proba(X) - expected).max() < 1e-12
    persistence.save(blend, tmp_path / "b.skops")
    again = persistence.load(tmp_path / "b.skops")
    assert (again.predict_proba(X) == blend.predict_proba(X)).all()
