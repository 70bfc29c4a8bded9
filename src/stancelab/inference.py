"""Load a saved stance model and predict, from Python, the CLI and MLflow's REST server.

Loading is split by cost. A local model folder is read directly: the MLmodel file names the
skops file, which is checked against stancelab's own trusted-type list and loaded with skops;
MLflow is not imported. Only ``runs:/``, ``models:/`` and ``best`` URIs import MLflow, to
resolve and download the model first.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stancelab import persistence
from stancelab.errors import ModelNotFoundError, StancelabError
from stancelab.persistence import SKOPS_FILE

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

log = logging.getLogger(__name__)

ARTIFACT_KEY = "stance_model"
MODEL_SCHEMES = ("runs:/", "models:/", "mlflow-artifacts:/", "file:")
MAX_CHARS = 5000  # longer texts are cut: n-gram features past this add cost, not signal


def _model_dir_skops(model_dir: Path) -> Path:
    """Find the skops file inside a logged model folder (or a folder holding one)."""
    candidates = sorted(model_dir.rglob(SKOPS_FILE))
    if not candidates:
        raise ModelNotFoundError(f"{model_dir} holds no stancelab model ({SKOPS_FILE} not found)")
    return candidates[0]


def resolve_uri(uri: str, experiment: str | None = None, metric: str | None = None) -> Path:
    """Turn a model URI into a local folder (downloading from MLflow when needed)."""
    path = Path(uri)
    if path.exists():
        return path
    if uri != "best" and not uri.startswith(MODEL_SCHEMES):
        raise ModelNotFoundError(
            f"'{uri}' is neither an existing folder nor a model URI (runs:/<run id>/model, "
            "models:/<name>@<alias>, models:/<name>/<version>, best)")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    if uri == "best":
        uri = best_model_uri(experiment or "stancelab", metric or "val_macro_f1")
    try:
        return Path(mlflow.artifacts.download_artifacts(uri))
    except Exception as err:  # MLflow raises several types for a missing model
        raise ModelNotFoundError(f"could not load model '{uri}': {err}") from err


def best_model_uri(experiment: str, metric: str) -> str:
    """URI of the model of the experiment's finished run with the highest ``metric``."""
    import mlflow

    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        raise ModelNotFoundError(f"no MLflow experiment named '{experiment}'")
    runs = mlflow.search_runs([exp.experiment_id], filter_string="attributes.status = 'FINISHED'",
                              order_by=[f"metrics.{metric} DESC"], max_results=50,
                              output_format="list")
    for run in runs:
        if metric in run.data.metrics and run.data.tags.get("stancelab.model_uri"):
            return run.data.tags["stancelab.model_uri"]
    raise ModelNotFoundError(
        f"no finished run with metric '{metric}' and a model in '{experiment}'")


class Predictor:
    """Predict stances with a fitted :class:`~stancelab.models.StanceClassifier`.

    Accepts a list of strings (with ``target``), a list of dicts, or a DataFrame with ``text``
    and optional ``target`` columns. Texts are cut at ``max_chars``; empty texts get the label
    ``none`` with ``empty`` flagged instead of a prediction from nothing.
    """

    def __init__(self, model: Any, default_target: str | None = None, max_chars: int = MAX_CHARS,
                 labels: Sequence[str] | None = None):
        self.model = model
        self.default_target = default_target
        self.max_chars = max_chars
        self.labels = list(labels or [])

    @property
    def classes(self) -> list[str]:
        """The model's labels, in the dataset's order (favor, against, none) when known."""
        own = [str(c) for c in self.model.classes_]
        ordered = [label for label in self.labels if label in own]
        return ordered + [c for c in own if c not in ordered]

    @property
    def targets(self) -> list[str]:
        return [str(t) for t in self.model.targets_]

    def frame(self, data: Any, target: str | None = None) -> pd.DataFrame:
        """Normalise any accepted input into a ``text``/``target`` DataFrame."""
        import pandas as pd

        if isinstance(data, str):
            data = [data]
        if isinstance(data, pd.DataFrame):
            df = data.copy()
        elif isinstance(data, Sequence) and all(isinstance(d, str) for d in data):
            df = pd.DataFrame({"text": list(data)})
        elif isinstance(data, Sequence) and all(isinstance(d, Mapping) for d in data):
            df = pd.DataFrame(list(data))
        else:
            raise StancelabError("input must be a list of strings, a list of dicts with 'text', "
                                 "or a DataFrame with a 'text' column")
        if "text" not in df.columns:
            raise StancelabError(f"input has no 'text' column (columns: {list(df.columns)})")
        fill = target or self.default_target or (self.targets[0] if len(self.targets) == 1
                                                 else None)
        if "target" not in df.columns:
            if fill is None:
                raise StancelabError("this model knows several targets; say which "
                                     f"(target=..., one of: {', '.join(self.targets)})")
            df["target"] = fill
        elif fill is not None:
            df["target"] = df["target"].where(df["target"].notna() & (df["target"] != ""), fill)
        df["text"] = df["text"].fillna("").astype(str).str.slice(0, self.max_chars)
        return df

    def predict_proba(self, data: Any, target: str | None = None) -> np.ndarray:
        """Scores with one column per label, in the order of :attr:`classes`.

        Goes through :meth:`predict_frame`, so empty texts get the same answer here as there.
        """
        return self.predict_frame(data, target)[self.classes].to_numpy()

    def _order(self) -> list[int]:
        own = [str(c) for c in self.model.classes_]
        return [own.index(c) for c in self.classes]

    def predict(self, data: Any, target: str | None = None) -> list[str]:
        return self.predict_frame(data, target)["stance"].tolist()

    def predict_frame(self, data: Any, target: str | None = None) -> pd.DataFrame:
        import numpy as np

        df = self.frame(data, target)
        empty = df["text"].str.strip() == ""
        classes = self.classes
        if not empty.any():  # the usual case: no row selection, no copy
            proba = self.model.predict_proba(df[["text", "target"]])[:, self._order()]
        else:
            proba = np.zeros((len(df), len(classes)))
            if not empty.all():
                rows = df.loc[~empty, ["text", "target"]]
                proba[~empty.to_numpy()] = self.model.predict_proba(rows)[:, self._order()]
        labels = np.array(classes, dtype=object)[proba.argmax(axis=1)]
        if empty.any() and "none" in classes:
            labels[empty.to_numpy()] = "none"
            proba[empty.to_numpy(), classes.index("none")] = 1.0
        out = df[["text", "target"]].copy()
        out["stance"] = labels
        for j, label in enumerate(classes):
            out[label] = proba[:, j]
        return out

    def predict_batches(self, data: Any, target: str | None = None,
                         batch_size: int = 4096, progress: bool = False) -> pd.DataFrame:
        """``predict_frame`` in batches (a progress bar on big inputs); keeps extra columns."""
        import pandas as pd

        df = self.frame(data, target)
        if len(df) <= batch_size:
            out = self.predict_frame(df)
        else:
            parts = []
            starts = range(0, len(df), batch_size)
            if progress and sys.stderr.isatty():
                from rich.progress import track

                starts = track(starts, description="predicting", transient=True, console=None)
            for start in starts:
                parts.append(self.predict_frame(df.iloc[start:start + batch_size]))
            out = pd.concat(parts, ignore_index=True)
        extra = [c for c in df.columns if c not in out.columns]
        return pd.concat([df[extra].reset_index(drop=True), out.reset_index(drop=True)], axis=1)


def load(uri: str, *, trust: Iterable[str] = (), default_target: str | None = None,
         experiment: str | None = None, metric: str | None = None) -> Predictor:
    """Load a model by URI: ``runs:/ID/model``, ``models:/name@alias``, ``models:/name/N``,
    a local model folder (or a ``.skops`` file), or ``best`` (best run of ``experiment``)."""
    path = resolve_uri(uri, experiment, metric)
    skops_file = path if path.is_file() else _model_dir_skops(path)
    model = persistence.load(skops_file, trust)
    meta_file = skops_file.parent / "stancelab.json"
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    return Predictor(model, default_target=default_target or meta.get("default_target"),
                     labels=meta.get("labels"))



def article_report(frame: pd.DataFrame, classes: list[str]) -> str:
    """Per-sentence stances and the document's share of each stance."""
    lines = []
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        score = getattr(row, row.stance) if row.stance.isidentifier() else 0.0
        lines.append(f"{i:>3}  {row.stance:<8} {score:.2f}  {row.text}")
    counts = frame["stance"].value_counts()
    total = len(frame)
    shares = "  ".join(f"{c} {counts.get(c, 0)} ({counts.get(c, 0) / max(1, total):.0%})"
                       for c in classes)
    target = frame["target"].iloc[0] if total else ""
    lines += ["", f"summary  {total} sentences toward '{target}': {shares}"]
    return "\n".join(lines)


def evaluate_file(predictor: Predictor, path: Path, fmt: str | None = None,
                  target: str | None = None, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Score a saved model on an annotated file, with the training code's metrics."""
    from stancelab import evaluation as ev
    from stancelab.config import compose
    from stancelab.data import normalize
    from stancelab.data.readers import READERS
    from stancelab.errors import DataValidationError

    full = compose(overrides)
    cfg = full.dataset
    fmt = fmt or {".jsonl": "stancelab", ".csv": "csv", ".tsv": "tsv", ".txt": "tsv",
                  ".json": "label_studio"}.get(path.suffix.lower(), "stancelab")
    if fmt not in READERS:
        raise StancelabError(f"unknown format '{fmt}' (known: {', '.join(READERS)})")
    if not path.exists():
        raise StancelabError(f"{path}: no such file")
    defaults = {"target": target or predictor.default_target} if (
        target or predictor.default_target) else {}
    records, problems = READERS[fmt](path, defaults=defaults)
    records, label_problems = normalize.apply_label_map(records, cfg.label_map or {},
                                                        list(predictor.classes))
    if problems or label_problems:
        raise DataValidationError(problems + label_problems)
    records, _ = normalize.clean_records(records, list(cfg.text.residue), 1)
    frame = predictor.predict_frame([{"text": r["text"], "target": r["target"]} for r in records])
    result = ev.evaluate([r["stance"] for r in records], frame["stance"], frame["target"],
                         labels=predictor.classes, bootstrap=full.evaluation.bootstrap,
                         seed=full.seed)
    return {"metrics": result.metrics, "text": ev.summary_table(result)}
