"""The NumPy-only copy of a model: same n-grams, same hashes, same scores as scikit-learn's, or
no copy at all."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.utils import murmurhash3_32 as sklearn_murmurhash

from conftest import FIXTURES
from stancelab import lite
from stancelab.config import compose
from stancelab.errors import StancelabError, UnknownTargetError
from stancelab.models import StanceClassifier, build_model, make_pipeline

MAIN = "troop deployment to Ukraine"
ODD_TEXTS = [
    "",
    "a",
    "  spaced\t\tout \n words  ",
    "Élysée façade: naïve coöperation!",
    "x" * 300,
    "Ukraine's NATO-bid — «no», said Moscow.",
    "日本語 テキスト",
    "Войска не будут отправлены.",
    "I I I I I",
    "e-mail: a.b@c.de 2024/25 #tag @user",
    "\u00a0non-breaking\u2028line",
]


def corpus() -> pd.DataFrame:
    records = [
        json.loads(line)
        for path in sorted((FIXTURES / "corpus").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    return pd.DataFrame(records)


def test_murmurhash_matches_scikit_learn():
    rng = random.Random(0)
    alphabet = "ab xyzéü日本Ж🙂\x00"
    keys = ["", "a", "ab", "abc", "abcd", "abcde", *ODD_TEXTS]
    keys += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(2000)]
    ours = lite.murmurhash3_32([k.encode("utf-8") for k in keys])
    assert ours.tolist() == [sklearn_murmurhash(k.encode("utf-8"), seed=0) for k in keys]


@pytest.mark.parametrize(
    "params",
    [
        {"analyzer": "word"},
        {"analyzer": "word", "ngram_range": (1, 3), "strip_accents": "unicode"},
        {"analyzer": "word", "ngram_range": (2, 2), "stop_words": "english", "lowercase": False},
        {"analyzer": "word", "token_pattern": r"(?u)\b(\w)\w*\b", "strip_accents": "ascii"},
        {"analyzer": "char", "ngram_range": (1, 4)},
        {"analyzer": "char_wb", "ngram_range": (2, 5)},
        {"analyzer": "char_wb", "ngram_range": (3, 3), "lowercase": False},
    ],
)
def test_analyzers_make_the_same_ngrams_as_scikit_learn(params):
    vectorizer = CountVectorizer(**params)
    spec = lite._analyzer_spec(vectorizer)
    ours, theirs = lite.analyzer(spec), vectorizer.build_analyzer()
    for text in ODD_TEXTS + corpus()["text"].tolist():
        assert ours(text) == theirs(text), text


CHOICES = [
    [],
    ["model=sgd"],
    ["features=char"],
    ["features=hashing", "model=sgd"],
    ["features=word_char", "target_mode=per_target"],
    ["features=hashing", "target_mode=text_only"],
    ["features=char", "model=sgd", "target_mode=per_target"],
]


@pytest.mark.parametrize("choice", CHOICES, ids=" ".join)
def test_the_copy_scores_as_the_model_does(choice, tmp_path):
    df = corpus()
    model = build_model(compose(choice)).fit(df[["text", "target"]], df["stance"])
    path = lite.export(model, tmp_path / lite.LITE_FILE, check=df[["text", "target"]])
    copy = lite.load(path)
    probe = pd.DataFrame({"text": ODD_TEXTS, "target": MAIN})
    for frame in (df[["text", "target"]], probe):
        np.testing.assert_allclose(
            copy.predict_proba(frame), model.predict_proba(frame), rtol=0, atol=1e-12
        )
        assert (copy.predict(frame) == model.predict(frame)).all()
    assert list(copy.classes_) == list(model.classes_)
    assert list(copy.targets_) == list(model.targets_)


def test_scores_do_not_depend_on_batching(tmp_path, monkeypatch):
    df = corpus()
    model = build_model(compose(["features=hashing", "model=sgd"])).fit(
        df[["text", "target"]], df["stance"]
    )
    copy = lite.load(lite.export(model, tmp_path / "m.npz"))
    whole = copy.predict_proba(df)
    monkeypatch.setattr(lite, "CHUNK", 3)
    np.testing.assert_allclose(
        lite.load(tmp_path / "m.npz").predict_proba(df), whole, rtol=0, atol=1e-12
    )


@pytest.mark.parametrize(
    "choice",
    [["model=linear_svm"], ["model=complement_nb"], ["model=mlp"], ["model=random_forest"]],
)
def test_models_it_cannot_copy_exactly_get_no_copy(choice, tmp_path):
    df = corpus()
    model = build_model(compose(choice)).fit(df[["text", "target"]], df["stance"])
    with pytest.raises(lite.NotExportable):
        lite.export(model, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_custom_parts_and_disagreement_are_refused(tmp_path):
    df = corpus()
    cfg = compose([])
    model = build_model(cfg).fit(df[["text", "target"]], df["stance"])
    text_features = model.estimator_.named_steps["columns"].transformers_[0][1]
    text_features = text_features.transformer_list[0][1]  # the word n-grams of word_char
    text_features.preprocessor = str.upper
    with pytest.raises(lite.NotExportable, match="custom preprocessor"):
        lite.export(model, tmp_path / "m.npz")
    text_features.preprocessor = None
    with pytest.raises(lite.NotExportable, match="differ"):
        lite.export(model, tmp_path / "m.npz", check=df, tolerance=-1.0)
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("norm", ["l1", "l2", None])
def test_signed_hashing_and_every_norm_are_copied(norm, tmp_path):
    df = corpus()
    vectorizer = HashingVectorizer(
        n_features=2**10, alternate_sign=True, norm=norm, ngram_range=(1, 2)
    )
    model = StanceClassifier(make_pipeline(vectorizer, LogisticRegression(max_iter=500)))
    model.fit(df[["text", "target"]], df["stance"])
    lite.export(model, tmp_path / "m.npz", check=df)  # raises if the scores differ
    probe = pd.DataFrame({"text": ODD_TEXTS, "target": MAIN})
    np.testing.assert_allclose(
        lite.load(tmp_path / "m.npz").predict_proba(probe),
        model.predict_proba(probe),
        rtol=0,
        atol=1e-12,
    )


def test_unknown_targets_and_bad_files_are_errors(tmp_path):
    df = corpus()
    model = build_model(compose([])).fit(df[["text", "target"]], df["stance"])
    copy = lite.load(lite.export(model, tmp_path / "m.npz"))
    with pytest.raises(UnknownTargetError, match="'climate'"):
        copy.predict_proba({"text": ["Some text."], "target": ["climate"]})
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(StancelabError, match=r"bad\.npz"):
        lite.load(tmp_path / "bad.npz")


def test_scope_features_are_copied_exactly(tmp_path, overrides):
    """ScopeMarker before a vectorizer (features=word_char_scope) is reproduced in NumPy."""
    import pandas as pd

    from stancelab import lite
    from stancelab.config import compose
    from stancelab.training import train

    model = train(
        compose(
            [*overrides, "tracking=off", "features=word_char_scope", "features._args_.2.min_df=1"]
        )
    ).extras["model"]
    texts = [
        "Paris did not rule out sending trainers.",
        "Berlin denied claims that it plans to send troops, but Rome disagreed.",
        "Nobody has ruled anything out.",
        "",
        "x",
    ]
    X = pd.DataFrame({"text": texts, "target": ["troop deployment to Ukraine"] * len(texts)})
    path = tmp_path / "m.lite.npz"
    lite.export(model, path, check=X)
    copy = lite.load(path)
    assert abs(copy.predict_proba(X) - model.predict_proba(X)).max() < 1e-12
