"""Feature factories and the negation / report scope marker."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stancelab.features import ScopeMarker, mark_scopes, raw_text, scoped_tfidf


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Berlin won't send soldiers.", "neg_scope neg_send neg_soldiers"),
        (
            "Macron did not rule out sending troops, officials said.",
            "dneg_scope dneg_sending dneg_troops",
        ),
        ("Nothing can be ruled out.", "dneg_scope"),
        ("Troops could be sent next year.", ""),
    ],
)
def test_scopes_are_marked_up_to_the_end_of_the_clause(text, expected):
    assert mark_scopes([text]) == [expected]


def test_a_refuted_report_marks_both_the_denial_and_the_reported_plan():
    (out,) = mark_scopes(["The Kremlin denied claims that NATO is planning to send trainers."])
    tokens = out.split()
    assert {"neg_trainers", "rep_trainers", "rep_planning"} <= set(tokens)
    assert "dneg_trainers" not in tokens


def test_scope_length_and_cues_come_from_parameters():
    text = "Rome rejected a plan to put a brigade of engineers near the border."
    assert len(mark_scopes([text], max_words=3)[0].split()) == 4  # the scope marker + 3 words
    assert mark_scopes([text], negation="refused") == [""]
    marker = ScopeMarker(max_words=3)
    assert marker.fit([text]).transform([text]) == mark_scopes([text], max_words=3)
    assert marker.get_params()["max_words"] == 3


def test_scoped_tfidf_learns_the_scope_vocabulary():
    texts = [
        "Paris did not rule out troops.",
        "Berlin ruled out troops.",
        "Rome ruled out troops.",
        "Oslo did not rule out troops.",
    ]
    vec = scoped_tfidf(min_df=1).fit(texts)
    vocabulary = set(vec.named_steps["tfidf"].vocabulary_)
    assert {"dneg_troops", "neg_troops"} <= vocabulary
    assert vec.transform(texts).shape == (4, len(vocabulary))


def test_the_scope_features_train_save_and_reload(tmp_path, overrides):
    from stancelab import persistence
    from stancelab.config import compose
    from stancelab.training import train

    result = train(compose([*overrides, "tracking=off", "features=word_char_scope"]))
    model = result.extras["model"]
    persistence.save(model, tmp_path / "m.skops")
    again = persistence.load(tmp_path / "m.skops")
    X = pd.DataFrame(
        {"text": ["Nobody has ruled out trainers."], "target": ["troop deployment to Ukraine"]}
    )
    assert np.allclose(again.predict_proba(X), model.predict_proba(X))


def test_raw_text_passes_text_and_target_through():
    from sklearn.dummy import DummyClassifier

    from stancelab.models import make_pipeline

    pipe = make_pipeline(raw_text(), DummyClassifier(), use_target=True)
    X = pd.DataFrame({"text": ["a", "b"], "target": ["t", "u"]})
    assert pipe.named_steps["columns"].fit_transform(X).tolist() == [["a", "t"], ["b", "u"]]
