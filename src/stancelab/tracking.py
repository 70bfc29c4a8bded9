"""MLflow tracking: everything a run needs to be compared, reproduced and served.

A run records the resolved config (as flattened parameters and as a YAML artifact), tags for
the code and data versions, the dataset splits as MLflow dataset inputs, metrics with stable
names, plots and reports, and the model. Sweeps get one parent run so that their children sit
together in the UI.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import subprocess
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

import stancelab

log = logging.getLogger(__name__)

PARENT_ENV = "STANCELAB_PARENT_RUN_ID"
SWEEP_ENV = "STANCELAB_SWEEP_ID"
MAX_PARAM_VALUE = 6000  # MLflow's limit on a parameter value's length
MAX_PARAM_KEY = 250


def tracking_uri(tracking: Mapping[str, Any]) -> str | None:
    """Where runs go: None when tracking is off (``tracking=off`` wins over the environment);
    else ``MLFLOW_TRACKING_URI`` wins over the config's ``tracking.uri``."""
    if not tracking["enabled"]:
        return None
    return os.environ.get("MLFLOW_TRACKING_URI") or tracking["uri"]


def configure(tracking: Mapping[str, Any]) -> str:
    """Point MLflow at the configured store and experiment; return the experiment id."""
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # keep successful runs quiet
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri(tracking)
    with store_lock(uri):
        mlflow.set_tracking_uri(uri)
        return mlflow.set_experiment(tracking["experiment"]).experiment_id


@contextmanager
def store_lock(uri: str | None) -> Iterator[None]:
    """Hold an exclusive lock beside a SQLite store while it is opened.

    Opening a store that does not exist yet creates its schema; MLflow's migrations are not
    safe to run twice at once, so several runs (a parallel sweep, several terminals) started
    together on a fresh store used to fail ("table ... already exists"). The first to take
    the lock creates the store and the experiment; the others wait, then find both.
    """
    if not uri or not uri.startswith("sqlite:///"):
        yield
        return
    import fcntl

    path = Path(uri.removeprefix("sqlite:///"))
    lock = path.with_name(path.name + ".lock")
    try:
        handle = open(lock, "a")  # noqa: SIM115 - held for the block, closed in finally
    except OSError:  # a read-only folder: nothing to create, nothing to guard
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()


def flatten(cfg: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config → ``{"model.C": "10.0", ...}``, within MLflow's length limits."""
    out: dict[str, str] = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            text = json.dumps(value) if isinstance(value, list | dict) else str(value)
            out[name[:MAX_PARAM_KEY]] = text[:MAX_PARAM_VALUE]
    return out


def git_tags(root: Path) -> dict[str, str]:
    """Commit and dirty state of the checkout, when there is one."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"mlflow.source.git.commit": commit, "stancelab.git_dirty": str(dirty).lower()}


def versions() -> dict[str, str]:
    """Pinned requirements for the logged model: what is installed now."""
    out = {}
    for package in ("scikit-learn", "skops", "pandas", "numpy", "scipy", "mlflow"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out


def describe_splits(
    frames: Mapping[str, Any], name: str, fingerprint: str, source: str
) -> list[dict[str, Any]]:
    """Each split as the fields of an MLflow dataset input (digest = fingerprint + split).

    Plain data, so the training process can describe the splits without importing MLflow;
    :func:`log_datasets` turns them into entities. stancelab's columns are all strings, so
    the schema is known (``mlflow.data.from_pandas`` inferred it by looking at every value:
    ~2.5 s per 100k rows); a column is required when it has no nulls.
    """
    return [
        {
            "name": f"{name}-{split}",
            "digest": f"{fingerprint[:8]}{split[:2]}",
            "source": source,
            "num_rows": len(frame),
            "num_elements": int(frame.size),
            "columns": {str(col): not frame[col].isna().any() for col in frame.columns},
            "context": {"validation": "eval"}.get(split, split),
        }
        for split, frame in frames.items()
    ]


def log_datasets(datasets: list[dict[str, Any]]) -> None:
    """Log :func:`describe_splits`' descriptions as inputs of the active run."""
    import mlflow
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.types.schema import ColSpec, Schema
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    inputs = []
    for d in datasets:
        schema = Schema(
            [ColSpec("string", col, required=required) for col, required in d["columns"].items()]
        )
        entity = Dataset(
            name=d["name"],
            digest=d["digest"],
            source_type="local",
            source=json.dumps({"uri": d["source"]}),
            schema=json.dumps({"mlflow_colspec": schema.to_dict()}),
            profile=json.dumps({"num_rows": d["num_rows"], "num_elements": d["num_elements"]}),
        )
        inputs.append(DatasetInput(entity, [InputTag(MLFLOW_DATASET_CONTEXT, d["context"])]))
    mlflow.MlflowClient().log_inputs(mlflow.active_run().info.run_id, datasets=inputs)


def log_model(
    model: Any, example: Any, name: str, meta: Mapping[str, Any], check: Any = None
) -> str:
    """Log the fitted model as skops inside an MLflow pyfunc; return its ``runs:/`` URI.

    Beside the skops file goes the model's NumPy-only copy (:mod:`stancelab.lite`) when it has
    one, checked against the model on ``check`` (a ``text``/``target`` DataFrame); a model with
    parts the copy cannot reproduce gets none, and loaders use the skops file.

    The pyfunc is defined by code (``stancelab/serving.py``) rather than pickled, and the
    stancelab package travels with the model (``code_paths``) so that ``mlflow models serve``
    needs nothing but the listed requirements.
    """
    import mlflow
    from mlflow.models import infer_signature
    from mlflow.types.schema import ColSpec, Schema

    from stancelab import persistence
    from stancelab.inference import Predictor

    package = Path(stancelab.__file__).parent
    # MLflow suggests type hints on predict; the explicit signature below already defines I/O.
    warnings.filterwarnings("ignore", "Add type hints", UserWarning)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / persistence.ARTIFACT_KEY
        persistence.save_folder(model, folder, dict(meta), check)
        output = Predictor(
            model, default_target=meta.get("default_target"), labels=meta.get("labels")
        ).predict_frame(example)
        signature = infer_signature(example, output)
        signature.inputs = Schema(
            [ColSpec("string", "text"), ColSpec("string", "target", required=False)]
        )
        info = mlflow.pyfunc.log_model(
            name=name,
            python_model=str(package / "serving.py"),
            artifacts={persistence.ARTIFACT_KEY: str(folder)},
            code_paths=[str(package)],
            signature=signature,
            input_example=example,
            pip_requirements=[f"{p}=={v}" for p, v in versions().items()],
        )
    return info.model_uri


def register(model_uri: str, name: str, alias: str | None) -> str:
    """Register the model and point ``alias`` at the new version; return the version."""
    import mlflow

    mv = mlflow.register_model(model_uri, name)
    if alias:
        mlflow.MlflowClient().set_registered_model_alias(name, alias, mv.version)
    return str(mv.version)


def open_parent(tracking: Mapping[str, Any], name: str, role: str) -> str:
    """Create a parent run for a sweep or search; its children find it through the environment.

    The parent is created with the client rather than made the active run, so that each child
    can be an ordinary top-level ``start_run`` (also in other processes, e.g. joblib workers).
    """
    from mlflow import MlflowClient

    experiment_id = configure(tracking)
    run = MlflowClient().create_run(
        experiment_id, run_name=name, tags={"stancelab.sweep": name, "stancelab.role": role}
    )
    os.environ[PARENT_ENV] = run.info.run_id
    os.environ[SWEEP_ENV] = name
    return run.info.run_id


def close_parent(run_id: str, status: str = "FINISHED") -> None:
    from mlflow import MlflowClient

    os.environ.pop(PARENT_ENV, None)
    os.environ.pop(SWEEP_ENV, None)
    MlflowClient().set_terminated(run_id, status)


def child_runs(run_id: str, metric: str) -> list[Any]:
    """A parent's child runs, best ``metric`` first."""
    from mlflow import MlflowClient

    client = MlflowClient()
    experiment_id = client.get_run(run_id).info.experiment_id
    return client.search_runs(
        [experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run_id}'",
        order_by=[f"metrics.{metric} DESC"],
        max_results=5000,
    )


def record_best(run_id: str, runs: list[Any], metric: str) -> None:
    from mlflow import MlflowClient

    if runs and metric in runs[0].data.metrics:
        client = MlflowClient()
        client.log_metric(run_id, f"best_{metric}", runs[0].data.metrics[metric])
        client.set_tag(run_id, "stancelab.best_run", runs[0].info.run_id)


class SweepCallback(Callback):
    """One MLflow parent run per Hydra multirun; children attach to it; a summary at the end.

    If the sweep is interrupted, the parent is closed as KILLED when the process exits.
    """

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        if not tracking_uri(config.tracking):
            return
        from datetime import datetime

        self._parent = open_parent(
            config.tracking, datetime.now().strftime("sweep-%Y%m%d-%H%M%S"), "sweep"
        )
        atexit.register(self._killed)

    def _killed(self) -> None:
        if os.environ.get(PARENT_ENV) == self._parent:
            close_parent(self._parent, "KILLED")

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        parent = getattr(self, "_parent", None)
        if parent is None or os.environ.get(PARENT_ENV) != parent:
            return
        atexit.unregister(self._killed)
        sweep = os.environ.get(SWEEP_ENV)
        metric = f"val_{config.evaluation.primary_metric}"
        runs = child_runs(parent, metric)
        print(sweep_summary(runs, metric, sweep))
        record_best(parent, runs, metric)
        close_parent(parent)


SUMMARY_COLUMNS = ("test_macro_f1", "test_f_avg", "realdev_macro_f1", "realdev_f_avg")


def sweep_summary(runs: list[Any], metric: str, sweep: str | None) -> str:
    """A plain-text table of a sweep's runs, best first (real_dev columns when any run has them)."""
    columns = [
        c
        for c in SUMMARY_COLUMNS
        if not c.startswith("realdev") or any(c in r.data.metrics for r in runs)
    ]
    header = f"{'run':<34} {'status':<9} {metric:>14}" + "".join(f" {c:>16}" for c in columns)
    lines = [f"\nsweep {sweep}: {len(runs)} run(s), sorted by {metric}", header, "-" * len(header)]
    for run in runs:
        m = run.data.metrics
        lines.append(
            f"{(run.info.run_name or run.info.run_id)[:34]:<34} {run.info.status:<9} "
            f"{m.get(metric, float('nan')):>14.4f}"
            + "".join(f" {m.get(c, float('nan')):>16.4f}" for c in columns)
        )
    return "\n".join(lines)
