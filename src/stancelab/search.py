"""Hyperparameter search with Optuna, each trial a nested MLflow run.

Optuna is called directly (the Hydra Optuna sweeper pins an Optuna from 2022). The search space
lives in ``conf/hparams_search/``: each entry maps a config key to a distribution, and a trial is
the base config with those keys set. The study's storage is configurable: in memory, or a
database URL that several ``stancelab train hparams_search=...`` processes share.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from stancelab.errors import StancelabError
from stancelab.training import TrainResult, train

log = logging.getLogger(__name__)


def suggest(trial: Any, name: str, spec: Mapping[str, Any]) -> Any:
    """One value for config key ``name`` from its distribution ``spec``."""
    kind = spec.get("type")
    if kind == "float":
        return trial.suggest_float(name, spec["low"], spec["high"], log=spec.get("log", False))
    if kind == "int":
        return trial.suggest_int(name, spec["low"], spec["high"], log=spec.get("log", False))
    if kind == "categorical":
        choices = list(spec["choices"])
        if any(isinstance(c, list | tuple | Mapping) for c in choices):
            # Optuna stores only scalars: offer lists (e.g. n-gram ranges) as their JSON text.
            return json.loads(trial.suggest_categorical(name, [json.dumps(c) for c in choices]))
        return trial.suggest_categorical(name, choices)
    raise StancelabError(
        f"search space entry '{name}': type must be float, int or categorical, not {kind!r}"
    )


def trial_config(cfg: DictConfig, values: Mapping[str, Any], number: int) -> DictConfig:
    """The base config with a trial's values set (keys are dotted config paths)."""
    trial = copy.deepcopy(cfg)
    for key, value in values.items():
        if OmegaConf.select(trial, key, default="__missing__") == "__missing__":
            raise StancelabError(f"search space key '{key}' is not in the config")
        OmegaConf.update(trial, key, value, merge=False)
    trial.run_name = f"trial-{number:03d}"
    return trial


def run_search(cfg: DictConfig) -> dict[str, Any]:
    """Run the study described by ``cfg.search``; return the best value and parameters."""
    import optuna

    from stancelab import tracking

    spec = cfg.search
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    metric = str(spec.metric)
    study = optuna.create_study(
        study_name=str(spec.study_name),
        storage=spec.get("storage"),
        direction=str(spec.direction),
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=int(cfg.seed)),
    )
    tracked = bool(tracking.tracking_uri(cfg.tracking))
    parent = (
        tracking.open_parent(cfg.tracking, f"optuna-{spec.study_name}", "search")
        if tracked
        else None
    )

    def objective(trial: Any) -> float:
        space = OmegaConf.to_container(spec.params, resolve=True)
        values = {name: suggest(trial, name, dist) for name, dist in space.items()}
        result: TrainResult = train(trial_config(cfg, values, trial.number))
        if result.run_id:
            trial.set_user_attr("run_id", result.run_id)
        if metric not in result.metrics:
            raise StancelabError(
                f"search metric '{metric}' was not computed "
                f"(have: {', '.join(sorted(result.metrics))})"
            )
        return result.metrics[metric]

    status = "FINISHED"
    try:
        study.optimize(objective, n_trials=int(spec.n_trials))
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    except BaseException:
        status = "FAILED"
        raise
    finally:
        if parent:
            if status == "FINISHED":
                import mlflow

                client = mlflow.MlflowClient()
                for key, value in study.best_params.items():
                    client.log_param(parent, f"best.{key}", value)
                tracking.record_best(parent, tracking.child_runs(parent, metric), metric)
            tracking.close_parent(parent, status)
    print(search_summary(study, metric))
    return {
        "best_value": study.best_value,
        "best_params": study.best_params,
        "parent_run_id": parent,
    }


def search_summary(study: Any, metric: str) -> str:
    """The trials of a study, best first."""
    trials = [t for t in study.trials if t.value is not None]
    trials.sort(key=lambda t: t.value, reverse=study.direction.name == "MAXIMIZE")
    lines = [
        f"\nstudy {study.study_name}: {len(study.trials)} trial(s), best {metric} "
        f"{study.best_value:.4f}"
    ]
    for t in trials[:20]:
        params = "  ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in t.params.items()
        )
        lines.append(f"  #{t.number:<4} {t.value:.4f}  {params}")
    return "\n".join(lines)
