"""Loading saved models and predicting: every URI form, every input form, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest

import stancelab
from stancelab.errors import (
    ModelNotFoundError,
    StancelabError,
    UnknownTargetError,
    UntrustedModelError,
)
from stancelab.inference import Predictor, resolve_uri
from stancelab.persistence import LITE_FILE, SKOPS_FILE

MAIN = "troop deployment to Ukraine"


@pytest.fixture(params=["sklearn", "lite"])
def predictor(trained, request) -> Predictor:
    """The trained model, scored by scikit-learn and by its NumPy copy: both must behave."""
    mlflow.set_tracking_uri(trained["uri"])
    return stancelab.load(trained["result"].model_uri, engine=request.param)


def test_every_uri_form_loads_the_same_model(trained, tmp_path):
    mlflow.set_tracking_uri(trained["uri"])
    result = trained["result"]
    texts = ["Madrid has no plans to send troops.", "Oslo may join a reassurance force."]
    expected = stancelab.load(result.model_uri).predict_proba(texts)
    folder = Path(mlflow.artifacts.download_artifacts(result.model_uri))
    local = tmp_path / "model"
    shutil.copytree(folder, local)
    run_uri = f"runs:/{result.run_id}/model"
    for uri in (
        run_uri,
        "models:/fixture-model@champion",
        "models:/fixture-model/1",
        str(local),
        str(next(local.rglob(SKOPS_FILE))),
    ):
        assert (stancelab.load(uri).predict_proba(texts) == expected).all(), uri
    best = stancelab.load("best", experiment="stancelab", metric="val_macro_f1")
    assert (best.predict_proba(texts) == expected).all()


def test_inputs_as_strings_dicts_and_frames_agree(predictor):
    texts = ["Warsaw is open to sending trainers.", "Brussels froze more Russian assets."]
    targets = [MAIN, "sanctions on Russia"]
    rows = [{"text": t, "target": g} for t, g in zip(texts, targets, strict=True)]
    as_dicts = predictor.predict(rows)
    as_frame = predictor.predict(pd.DataFrame({"text": texts, "target": targets}))
    assert as_dicts == as_frame
    as_strings = predictor.predict(texts[:1], target=MAIN)
    assert as_strings == as_dicts[:1]
    proba = predictor.predict_proba(texts, target=MAIN)
    assert proba.shape == (2, 3) and abs(proba.sum(axis=1) - 1).max() < 1e-9


def test_default_target_is_used_when_none_is_given(predictor):
    assert predictor.default_target == MAIN
    frame = predictor.predict_frame(["Paris floated sending soldiers."])
    assert frame["target"].tolist() == [MAIN]


def test_unknown_target_is_a_clear_error(predictor):
    with pytest.raises(UnknownTargetError, match="no model for target\\(s\\) 'climate'"):
        predictor.predict(["text"], target="climate")


def test_bad_inputs_get_defined_answers(predictor):
    frame = predictor.predict_frame(
        ["", "   ", "x" * 100_000, "Войска не будут отправлены.", "\x00\x01\x02 ÿþ"]
    )
    assert frame.loc[0, "stance"] == "none" and frame.loc[0, "none"] == 1.0
    assert frame.loc[1, "stance"] == "none"
    assert len(frame.loc[2, "text"]) == predictor.max_chars
    assert set(frame["stance"]) <= set(predictor.classes)
    with pytest.raises(StancelabError, match="no 'text' column"):
        predictor.predict(pd.DataFrame({"sentence": ["a"]}))
    with pytest.raises(StancelabError, match="list of strings"):
        predictor.predict(42)


def test_missing_models_are_clear_errors(trained, tmp_path):
    mlflow.set_tracking_uri(trained["uri"])
    with pytest.raises(ModelNotFoundError, match="neither an existing folder nor a model URI"):
        resolve_uri("no-such-thing")
    with pytest.raises(ModelNotFoundError, match="could not load model"):
        stancelab.load("runs:/0123456789abcdef/model")
    with pytest.raises(ModelNotFoundError, match="holds no stancelab model"):
        stancelab.load(str(tmp_path))


def test_untrusted_types_are_refused_unless_trusted(tmp_path):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    from stancelab.features import tfidf
    from stancelab.models import StanceClassifier, make_pipeline
    from support import lowercase

    pipeline = make_pipeline(tfidf(preprocessor=lowercase), LogisticRegression())
    texts = ["alpha beta", "gamma delta", "epsilon zeta"]
    model = StanceClassifier(pipeline).fit(
        pd.DataFrame({"text": texts, "target": ["t"] * 3}), ["favor", "against", "none"]
    )
    path = tmp_path / SKOPS_FILE
    sio.dump(model, path)
    with pytest.raises(UntrustedModelError, match=r"support\.lowercase"):
        stancelab.load(str(path))
    untrusted = sio.get_untrusted_types(file=str(path))
    loaded = stancelab.load(str(path), trust=untrusted)
    assert loaded.predict(["alpha beta"], target="t")[0] in {"favor", "against", "none"}


def test_engines_give_the_same_answers(trained):
    mlflow.set_tracking_uri(trained["uri"])
    uri = trained["result"].model_uri
    full, copy = stancelab.load(uri), stancelab.load(uri, engine="lite")
    assert type(copy.model).__name__ == "LiteModel"
    assert type(stancelab.load(uri, engine="auto").model).__name__ == "LiteModel"
    rows = [
        {"text": "Warsaw is open to sending trainers.", "ref": 1},
        {"text": "", "ref": 2},
        {"text": None, "ref": 3},
        {"text": "Brussels froze more Russian assets.", "target": "sanctions on Russia"},
    ]
    a, b = full.predict_frame(rows), copy.predict_frame(rows)
    assert a[["text", "target", "stance"]].equals(b[["text", "target", "stance"]])
    assert abs(a[full.classes].to_numpy() - b[copy.classes].to_numpy()).max() < 1e-12
    assert full.predict_records(rows, batch_size=2)[0]["ref"] == 1
    assert [r["stance"] for r in copy.predict_records(rows, batch_size=2)] == list(a["stance"])


def test_engine_choice_errors_are_clear(trained, tmp_path):
    mlflow.set_tracking_uri(trained["uri"])
    folder = Path(
        mlflow.artifacts.download_artifacts(
            trained["result"].model_uri, dst_path=str(tmp_path / "m")
        )
    )
    with pytest.raises(StancelabError, match="engine must be one of"):
        stancelab.load(str(folder), engine="onnx")
    next(folder.rglob(LITE_FILE)).unlink()
    assert type(stancelab.load(str(folder), engine="auto").model).__name__ == "StanceClassifier"
    with pytest.raises(ModelNotFoundError, match="has no lite copy"):
        stancelab.load(str(folder), engine="lite")


@pytest.mark.parametrize(
    ("engine", "absent"),
    [
        ("sklearn", ["datasets", "hydra", "matplotlib", "mlflow"]),
        ("auto", ["datasets", "mlflow", "pandas", "scipy", "skops", "sklearn"]),
    ],
)
def test_a_local_model_loads_without_heavy_imports(trained, tmp_path, engine, absent):
    """Loading a folder never imports MLflow or datasets; its NumPy copy not even scikit-learn."""
    import subprocess
    import sys

    mlflow.set_tracking_uri(trained["uri"])
    folder = mlflow.artifacts.download_artifacts(
        trained["result"].model_uri, dst_path=str(tmp_path / "m")
    )
    code = (
        f"import sys, stancelab; p = stancelab.load(sys.argv[1], engine={engine!r}); "
        "print(p.predict(['Rome will send soldiers.', ''])); "
        f"print(sorted(m for m in {absent!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, folder], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[-1] == "[]"
    assert out[0].endswith("'none']")
