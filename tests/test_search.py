"""Optuna search: trials are nested MLflow runs; the study can live in a shared database."""

from __future__ import annotations

import optuna
import pytest
from mlflow import MlflowClient

from stancelab.config import compose
from stancelab.errors import StancelabError
from stancelab.search import run_search, trial_config


def test_search_runs_trials_as_children_of_one_parent(tmp_path, overrides):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    cfg = compose(
        [
            *overrides,
            "hparams_search=logreg",
            "search.n_trials=2",
            f"search.storage={storage}",
            "tracking.log_model=false",
            "evaluation.plots=false",
        ]
    )
    best = run_search(cfg)
    client = MlflowClient(cfg.tracking.uri)
    parent = client.get_run(best["parent_run_id"])
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["stancelab.role"] == "search"
    assert {f"best.{k}" for k in best["best_params"]} <= set(parent.data.params)
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{best['parent_run_id']}'",
    )
    assert sorted(r.info.run_name for r in children) == ["trial-000", "trial-001"]
    assert max(r.data.metrics["val_macro_f1"] for r in children) == best["best_value"]
    # The study persists: a second process (here: a second call) extends it.
    run_search(cfg)
    study = optuna.load_study(study_name="logreg-word", storage=storage)
    assert len(study.trials) == 4


def test_trial_config_sets_values_and_rejects_unknown_keys(overrides):
    cfg = compose([*overrides[:4], "hparams_search=linear_svm"])
    trial = trial_config(
        cfg, {"model.estimator.C": 0.5, "features._args_.0.ngram_range": [1, 1]}, 7
    )
    assert trial.model.estimator.C == 0.5 and list(trial.features._args_[0].ngram_range) == [1, 1]
    assert trial.run_name == "trial-007" and cfg.run_name is None
    with pytest.raises(StancelabError, match=r"'model\.gamma' is not in the config"):
        trial_config(cfg, {"model.gamma": 1.0}, 0)
