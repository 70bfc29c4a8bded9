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
import sys
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


# Metric name prefix per split: val_macro_f1, test_macro_f1, realdev_macro_f1.
METRIC_PREFIX = {"validation": "val", "test": "test", "real_dev": "realdev"}


def evaluate_split(
    model: Any, df: Any, cfg: DictConfig, labels: list[str], split: str, out_dir: Path | None
) -> dict[str, float]:
    """Score one split; write its plot and reports to ``out_dir`` when given."""
    from stancelab import evaluation as ev

    X = df[["text", "target"]]
    proba = model.predict_proba(X)
    pred = model.classes_[proba.argmax(axis=1)]
    e = cfg.evaluation
    result = ev.evaluate(
        df["stance"],
        pred,
        df["target"],
        labels=labels,
        favor=e.favor_label,
        against=e.against_label,
        bootstrap=e.bootstrap,
        seed=cfg.seed,
    )
    if out_dir is not None:
        if e.plots:
            ev.plot_confusion(
                result,
                out_dir / f"confusion_{split}.png",
                f"{split}: macro-F1 {result.metrics['macro_f1']:.3f}",
            )
        (out_dir / f"report_{split}.md").write_text(ev.summary_table(result))
        wrong = ev.misclassified(df, pred, proba, list(model.classes_), e.max_misclassified)
        wrong.to_csv(out_dir / f"misclassified_{split}.csv", index=False)
    return result.prefixed(METRIC_PREFIX.get(split, split))


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
        scores.append(
            ev.evaluate(df.iloc[te]["stance"], pred, labels=labels).metrics[
                cfg.evaluation.primary_metric
            ]
        )
    name = f"cv_{cfg.evaluation.primary_metric}"
    return {f"{name}_mean": float(np.mean(scores)), f"{name}_std": float(np.std(scores))}


def train(cfg: DictConfig) -> TrainResult:
    """Build the dataset, fit, evaluate and (when tracking is on) log to MLflow."""
    from stancelab.data.build import build_dataset
    from stancelab.tracking import tracking_uri

    seed_everything(int(cfg.seed))
    uri = tracking_uri(cfg.tracking)
    if uri:
        from stancelab.errors import check_tracking_server

        check_tracking_server(uri, float(cfg.tracking.connect_timeout))
        # The tracking process opens the store while the dataset is built and the model fit.
        from stancelab.tracking_worker import worker

        worker().send(
            "open",
            uri=uri,
            experiment=str(cfg.tracking.experiment),
            modules=_modules(cfg) if cfg.tracking.log_model else [],
            path=sys.path,
        )
    with step(f"dataset '{cfg.dataset.name}' ready"):
        built = build_dataset(cfg.dataset)
    data = frames(built.dataset)
    if "train" not in data:
        from stancelab.errors import StancelabError

        raise StancelabError(f"dataset '{cfg.dataset.name}' has an empty train split")
    labels = list(built.report["labels"])
    result = _tracked(cfg, data, labels, built) if uri else _fit_and_score(cfg, data, labels, None)
    result.dataset_path = str(built.path)
    return result


def _modules(cfg: DictConfig) -> list[str]:
    """Modules of every ``_target_`` in the model and features config: what unpickling the
    fitted model imports, so the tracking process can import them during the fit."""
    found = {"stancelab.models"}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            target = node.get("_target_")
            if isinstance(target, str) and "." in target:
                found.add(target.rsplit(".", 1)[0])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(OmegaConf.to_container(cfg.model, resolve=True))
    walk(OmegaConf.to_container(cfg.features, resolve=True))
    return sorted(found)


def _fit_and_score(
    cfg: DictConfig,
    data: dict[str, Any],
    labels: list[str],
    out_dir: Path | None,
    fitted: Any = None,
) -> TrainResult:
    """Fit on train; score validation, test and real_dev (plots and reports to ``out_dir``).

    ``fitted(model)``, when given, is called between the fit and the evaluation.
    """
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
    if fitted is not None:
        fitted(model)
    for split in METRIC_PREFIX:
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


def _end(w: Any, status: str) -> dict[str, Any]:
    """End a run that did not finish; never hide the error that ended it."""
    from stancelab.tracking_worker import TrackingError

    try:
        return w.finish(status)
    except (TrackingError, OSError) as err:
        log.warning("could not close the MLflow run: %s", err)
        return {}


def _tracked(cfg: DictConfig, data: dict[str, Any], labels: list[str], built: Any) -> TrainResult:
    """Fit and score here; the tracking process logs the run (see stancelab.tracking_worker).

    The model is handed over right after the fit, so that it is saved and logged while this
    process evaluates it.
    """
    from stancelab import tracking
    from stancelab.tracking_worker import TrackingError, worker, write_model

    w = worker()
    resolved = OmegaConf.to_container(cfg, resolve=True)
    tags = {
        "stancelab.version": __version__,
        "stancelab.dataset_fingerprint": built.fingerprint,
        "stancelab.dataset": str(cfg.dataset.name),
        "stancelab.target_mode": cfg.target_mode,
        **tracking.git_tags(Path(cfg.paths.root)),
        **{str(k): str(v) for k, v in (cfg.tracking.get("tags") or {}).items()},
    }
    if parent := os.environ.get(tracking.PARENT_ENV):
        tags["mlflow.parentRunId"] = parent
        tags["stancelab.sweep"] = os.environ.get(tracking.SWEEP_ENV, "")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "artifacts"
        out.mkdir()

        def hand_over(model: Any) -> None:
            if not cfg.tracking.log_model:
                return
            example = data["train"][["text", "target"]].head(3).reset_index(drop=True)
            path = write_model(Path(tmp) / "model.pkl", model, example, _lite_check(cfg, data))
            meta = {
                "default_target": cfg.default_target,
                "labels": labels,
                "targets": [str(t) for t in model.targets_],
                "stancelab_version": __version__,
            }
            w.send("model", path=str(path), name=str(cfg.tracking.model_name), meta=meta)

        try:
            with _sigterm_as_interrupt():
                w.send(
                    "start",
                    run_name=run_name(cfg),
                    tags=tags,
                    params=tracking.flatten(resolved),
                    texts={
                        "config.yaml": OmegaConf.to_yaml(cfg, resolve=True),
                        "dataset_card.md": (built.path / "README.md").read_text(),
                    },
                    datasets=tracking.describe_splits(
                        data, str(cfg.dataset.name), built.fingerprint, str(built.path)
                    ),
                )
                w.check()  # a store that failed to open fails the run before the fit
                result = _fit_and_score(cfg, data, labels, out, fitted=hand_over)
                w.send("metrics", metrics=result.metrics)
                w.send("artifacts", folder=str(out))
                with step("run logged"):
                    ids = w.finish("FINISHED", OmegaConf.to_container(cfg.tracking.register))
        except KeyboardInterrupt:
            ids = _end(w, "KILLED")
            log.warning(
                "interrupted: run %s ended as KILLED; nothing registered", ids.get("run_id")
            )
            raise
        except TrackingError:
            raise  # the tracking process has ended the run as FAILED
        except BaseException:
            _end(w, "FAILED")
            raise
    result.run_id, result.model_uri = ids["run_id"], ids["model_uri"]
    result.registered = ids["registered"]
    return result
