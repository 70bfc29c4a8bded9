"""Train, evaluate and track one configuration: config → dataset → pipeline → evaluation → MLflow.

``train(cfg)`` is what ``stancelab train`` runs for each Hydra job. A run that is interrupted
(Ctrl-C, SIGTERM) ends in MLflow as KILLED, a run that fails as FAILED, and neither registers
a model: registration happens only after the run has finished.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from stancelab import __version__
from stancelab.progress import step

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a training run produced; ``stancelab train`` prints it."""

    metrics: dict[str, float]
    run_id: str | None = None
    model_uri: str | None = None
    registered: str | None = None
    dataset_path: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class Interrupted(KeyboardInterrupt):
    """Raised on SIGTERM so that a terminated run is closed like a Ctrl-C'd one."""


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise Interrupted(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. some launchers): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)


def frames(dataset: Any) -> dict[str, Any]:
    """DatasetDict → pandas frames with string labels, one per non-empty split."""
    out = {}
    for split, ds in dataset.items():
        if len(ds) == 0:
            continue
        names = ds.features["stance"].names
        df = ds.to_pandas()
        df["stance"] = [names[i] for i in df["stance"]]
        out[split] = df
    return out


def run_name(cfg: DictConfig) -> str:
    """A readable run name: model · features · target mode (unless set in config)."""
    if cfg.get("run_name"):
        return str(cfg.run_name)
    choices = cfg.get("choices") or {}
    model = choices.get("model") or str(cfg.model.get("_target_", "model")).rsplit(".", 1)[-1]
    features = choices.get("features") or "features"
    return f"{model}·{features}·{cfg.target_mode}"


def evaluate_split(model: Any, df: Any, cfg: DictConfig, labels: list[str], split: str,
                   out_dir: Path | None) -> dict[str, float]:
    """Score one split; write its plot and reports to ``out_dir`` when given."""
    from stancelab import evaluation as ev

    X = df[["text", "target"]]
    proba = model.predict_proba(X)
    pred = model.classes_[proba.argmax(axis=1)]
    e = cfg.evaluation
    result = ev.evaluate(df["stance"], pred, df["target"], labels=labels, favor=e.favor_label,
                         against=e.against_label, bootstrap=e.bootstrap, seed=cfg.seed)
    if out_dir is not None:
        if e.plots:
            ev.plot_confusion(result, out_dir / f"confusion_{split}.png",
                              f"{split}: macro-F1 {result.metrics['macro_f1']:.3f}")
        (out_dir / f"report_{split}.md").write_text(ev.summary_table(result))
        wrong = ev.misclassified(df, pred, proba, list(model.classes_), e.max_misclassified)
        wrong.to_csv(out_dir / f"misclassified_{split}.csv", index=False)
    return result.prefixed({"validation": "val"}.get(split, split))


def cross_validate(cfg: DictConfig, df: Any, labels: list[str]) -> dict[str, float]:
    """k-fold CV on the training split, grouped by document; mean and std of the primary metric."""
    from sklearn.model_selection import StratifiedGroupKFold

    from stancelab import evaluation as ev
    from stancelab.models import build_model

    folds = StratifiedGroupKFold(n_splits=cfg.cv_folds, shuffle=True, random_state=cfg.seed)
    groups = df["doc_id"].fillna(df["id"]).to_numpy()
    scores = []
    for i, (tr, te) in enumerate(folds.split(df, df["stance"], groups), start=1):
        with step(f"cross-validation fold {i}/{cfg.cv_folds}"):
            model = build_model(cfg).fit(df.iloc[tr][["text", "target"]], df.iloc[tr]["stance"])
            pred = model.predict(df.iloc[te][["text", "target"]])
        scores.append(ev.evaluate(df.iloc[te]["stance"], pred, labels=labels)
                      .metrics[cfg.evaluation.primary_metric])
    name = f"cv_{cfg.evaluation.primary_metric}"
    return {f"{name}_mean": float(np.mean(scores)), f"{name}_std": float(np.std(scores))}


def train(cfg: DictConfig) -> TrainResult:
    """Build the dataset, fit, evaluate and (when tracking is on) log to MLflow."""
    from stancelab.data.build import build_dataset
    from stancelab.tracking import tracking_uri

    seed_everything(int(cfg.seed))
    tracked = bool(tracking_uri(cfg.tracking.get("uri")))
    if tracked and cfg.tracking.log_model:
        # skops' import looks up ~900 names by scanning every loaded module; done now, before
        # datasets and MLflow add ~2,000 modules, it costs a second less than at "model logged".
        from stancelab.persistence import skops_io

        skops_io()
    with step(f"dataset '{cfg.dataset.name}' ready"):
        built = build_dataset(cfg.dataset)
    data = frames(built.dataset)
    if "train" not in data:
        from stancelab.errors import StancelabError

        raise StancelabError(f"dataset '{cfg.dataset.name}' has an empty train split")
    labels = list(built.report["labels"])
    if tracked:
        result = _tracked(cfg, data, labels, built)
    else:
        result = _fit_and_score(cfg, data, labels, None)
    result.dataset_path = str(built.path)
    return result


def _fit_and_score(cfg: DictConfig, data: dict[str, Any], labels: list[str],
                   out_dir: Path | None) -> TrainResult:
    """Fit on train; score validation and test (writing plots and reports to ``out_dir``)."""
    from stancelab.models import build_model

    model = build_model(cfg)
    train_df = data["train"]
    metrics: dict[str, float] = {}
    if cfg.get("cv_folds", 0) and cfg.cv_folds > 1:
        metrics.update(cross_validate(cfg, train_df, labels))
    with step(f"fitted on {len(train_df)} sentences"):
        start = time.perf_counter()
        model.fit(train_df[["text", "target"]], train_df["stance"])
        metrics["fit_seconds"] = time.perf_counter() - start
    for split in ("validation", "test"):
        if split in data:
            with step(f"evaluated on {split} ({len(data[split])} sentences)"):
                metrics.update(evaluate_split(model, data[split], cfg, labels, split, out_dir))
    return TrainResult(metrics, extras={"model": model})


def _lite_check(cfg: DictConfig, data: dict[str, Any]) -> Any:
    """Sentences on which the model's NumPy copy must agree with it (None: no copy)."""
    lite = cfg.tracking.get("lite") or {}
    if not lite.get("enabled", False):
        return None
    split = next(s for s in ("validation", "test", "train") if s in data)
    return data[split][["text", "target"]].head(int(lite.get("check_rows", 1000)))


def _tracked(cfg: DictConfig, data: dict[str, Any], labels: list[str], built: Any) -> TrainResult:
    with step("MLflow store opened"):
        import mlflow

        from stancelab import tracking

        tracking.configure(cfg.tracking)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    tags = {"stancelab.version": __version__, "stancelab.dataset_fingerprint": built.fingerprint,
            "stancelab.dataset": str(cfg.dataset.name), "stancelab.target_mode": cfg.target_mode,
            **tracking.git_tags(Path(cfg.paths.root)),
            **{str(k): str(v) for k, v in (cfg.tracking.get("tags") or {}).items()}}
    if parent := os.environ.get(tracking.PARENT_ENV):
        tags["mlflow.parentRunId"] = parent
        tags["stancelab.sweep"] = os.environ.get(tracking.SWEEP_ENV, "")
    run = mlflow.start_run(run_name=run_name(cfg), tags=tags)
    try:
        with _sigterm_as_interrupt(), tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            with step("config and datasets logged"):
                mlflow.log_params(tracking.flatten(resolved))
                (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
                (out / "dataset_card.md").write_text((built.path / "README.md").read_text())
                tracking.log_splits(data, str(cfg.dataset.name), built.fingerprint,
                                    str(built.path))
            result = _fit_and_score(cfg, data, labels, out)
            with step("metrics, plots and reports logged"):
                mlflow.log_metrics(result.metrics)
                mlflow.log_artifacts(str(out))
            if cfg.tracking.log_model:
                with step("model logged"):
                    example = data["train"][["text", "target"]].head(3).reset_index(drop=True)
                    meta = {"default_target": cfg.default_target, "labels": labels,
                            "targets": list(result.extras["model"].targets_),
                            "stancelab_version": __version__}
                    result.model_uri = tracking.log_model(result.extras["model"], example,
                                                          cfg.tracking.model_name, meta,
                                                          check=_lite_check(cfg, data))
                    mlflow.set_tag("stancelab.model_uri", result.model_uri)
    except KeyboardInterrupt:
        mlflow.end_run(status="KILLED")
        log.warning("interrupted: run %s ended as KILLED; nothing registered", run.info.run_id)
        raise
    except BaseException:
        mlflow.end_run(status="FAILED")
        raise
    mlflow.end_run(status="FINISHED")
    result.run_id = run.info.run_id
    reg = cfg.tracking.register
    if reg.enabled and result.model_uri:
        version = tracking.register(result.model_uri, reg.name, reg.alias)
        result.registered = f"models:/{reg.name}@{reg.alias}" if reg.alias else \
            f"models:/{reg.name}/{version}"
    return result
