"""End to end: fixture corpus → dataset → pipeline → evaluation → MLflow run → saved model."""

from __future__ import annotations

import json

import mlflow
import pytest
from datasets import load_from_disk
from mlflow import MlflowClient

from stancelab.config import compose
from stancelab.training import train


def test_run_records_everything_needed_to_compare_runs(trained):
    result = trained["result"]
    client = MlflowClient(trained["uri"])
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    metrics = run.data.metrics
    for name in (
        "test_macro_f1",
        "test_f_avg",
        "test_accuracy",
        "val_macro_f1",
        "val_f_avg",
        "test_f1_favor",
        "test_precision_against",
        "test_macro_f1_ci_low",
        "test_target_sanctions_on_russia_f_avg",
        "fit_seconds",
        "realdev_macro_f1",
        "realdev_f_avg",
        "realdev_f1_none",
        "realdev_macro_f1_ci_low",
    ):
        assert name in metrics, name
    assert 0.0 <= metrics["test_macro_f1"] <= 1.0
    params = run.data.params
    assert params["model.C"] == "10.0" and params["target_mode"] == "joint"
    assert params["dataset.name"] == "seeds" and params["seed"] == "13"
    tags = run.data.tags
    assert tags["stancelab.version"] and len(tags["stancelab.dataset_fingerprint"]) == 64
    assert run.info.run_name == "logreg·word·joint"
    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    assert {
        "config.yaml",
        "confusion_test.png",
        "report_test.md",
        "misclassified_test.csv",
        "dataset_card.md",
        "confusion_real_dev.png",
        "report_real_dev.md",
        "misclassified_real_dev.csv",
    } <= artifacts
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"seeds-train", "seeds-validation", "seeds-test", "seeds-real_dev"}
    train_input = inputs["seeds-train"]
    assert {t.key: t.value for t in train_input.tags}["mlflow.data.context"] == "train"
    assert {t.key: t.value for t in inputs["seeds-validation"].tags}[
        "mlflow.data.context"
    ] == "eval"
    columns = {c["name"]: c for c in json.loads(train_input.dataset.schema)["mlflow_colspec"]}
    assert {"text", "target", "stance"} <= set(columns)
    profile = json.loads(train_input.dataset.profile)
    assert profile["num_rows"] == load_from_disk(result.dataset_path)["train"].num_rows
    assert profile["num_elements"] == profile["num_rows"] * len(columns)
    assert columns["text"]["type"] == "string" and columns["text"]["required"] is True


def test_logged_model_predicts_through_mlflow_pyfunc(trained):
    import pandas as pd

    mlflow.set_tracking_uri(trained["uri"])
    model = mlflow.pyfunc.load_model(trained["result"].model_uri)
    frame = pd.DataFrame(
        {
            "text": ["Rome ruled out sending soldiers.", "Sanctions work.", "It rained."],
            "target": [
                "troop deployment to Ukraine",
                "sanctions on Russia",
                "troop deployment to Ukraine",
            ],
        }
    )
    out = model.predict(frame)
    assert len(out) == 3
    assert set(out["stance"]) <= {"favor", "against", "none"}
    assert ((out[["favor", "against", "none"]].sum(axis=1) - 1).abs() < 1e-6).all()


def test_linear_models_are_logged_with_their_numpy_copy_and_others_without(
    trained, overrides, tmp_path
):
    from pathlib import Path

    from stancelab.persistence import LITE_FILE, SKOPS_FILE

    def files(uri: str) -> set[str]:
        folder = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / uri[-6:])))
        return {p.name for p in folder.rglob("*")}

    mlflow.set_tracking_uri(trained["uri"])
    assert {SKOPS_FILE, LITE_FILE} <= files(trained["result"].model_uri)
    mlflow.set_tracking_uri(overrides[2].split("=", 1)[1])
    svm = train(compose([*overrides, "model=linear_svm", "evaluation.plots=false"]))
    assert SKOPS_FILE in files(svm.model_uri) and LITE_FILE not in files(svm.model_uri)
    off = train(compose([*overrides, "tracking.lite.enabled=false", "evaluation.plots=false"]))
    assert LITE_FILE not in files(off.model_uri)


def test_registered_model_loads_by_alias(trained):
    import stancelab

    mlflow.set_tracking_uri(trained["uri"])
    assert trained["result"].registered == "models:/fixture-model@champion"
    predictor = stancelab.load("models:/fixture-model@champion")
    assert predictor.predict(["Berlin said no soldiers would go."])[0] in predictor.classes


def test_same_config_and_seed_give_identical_results(tmp_path, overrides):
    cfg = compose([*overrides, "tracking=off", "model=linear_svm", "features=word_char"])
    first, second = train(cfg), train(cfg)
    assert first.metrics.pop("fit_seconds") >= 0 and second.metrics.pop("fit_seconds") >= 0
    assert first.metrics == second.metrics
    import pandas as pd

    probe = pd.DataFrame(
        {
            "text": ["Paris may send trainers."] * 2,
            "target": ["troop deployment to Ukraine", "sanctions on Russia"],
        }
    )
    assert (
        first.extras["model"].predict_proba(probe) == second.extras["model"].predict_proba(probe)
    ).all()


def test_sigterm_ends_the_run_killed_and_registers_nothing(tmp_path, overrides):
    cfg = compose(
        [
            *overrides,
            "model._target_=support.SigtermOnFit",
            "tracking.register.enabled=true",
            "tracking.register.name=never",
        ]
    )
    with pytest.raises(KeyboardInterrupt):
        train(cfg)
    client = MlflowClient(cfg.tracking.uri)
    exp = client.get_experiment_by_name("stancelab")
    runs = client.search_runs([exp.experiment_id])
    assert [r.info.status for r in runs] == ["KILLED"]
    assert client.search_registered_models(filter_string="name='never'") == []


def test_a_failing_fit_ends_the_run_failed(tmp_path, overrides):
    cfg = compose([*overrides, "model._target_=support.FailOnFit"])
    with pytest.raises(RuntimeError, match="deliberate"):
        train(cfg)
    client = MlflowClient(cfg.tracking.uri)
    exp = client.get_experiment_by_name("stancelab")
    assert [r.info.status for r in client.search_runs([exp.experiment_id])] == ["FAILED"]


def test_per_target_mode_and_cross_validation(tmp_path, overrides):
    cfg = compose([*overrides, "tracking=off", "target_mode=per_target", "cv_folds=2"])
    result = train(cfg)
    assert "cv_macro_f1_mean" in result.metrics
    assert result.extras["model"].per_target
    assert set(result.extras["model"].estimators_) == {
        "troop deployment to Ukraine",
        "sanctions on Russia",
    }


def test_tracking_off_wins_over_the_environment(tmp_path, overrides, monkeypatch):
    store = tmp_path / "env.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}")
    result = train(compose([*overrides, "tracking=off"]))
    assert result.run_id is None and not store.exists()
