"""Load a saved stance model and predict, from Python, the CLI and MLflow's REST server.

Loading is split by cost. A local model folder is read directly: the MLmodel file names the
skops file, which is checked against stancelab's own trusted-type list and loaded with skops;
MLflow is not imported. Only ``runs:/``, ``models:/`` and ``best`` URIs import MLflow, to
resolve and download the model first.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stancelab import persistence
from stancelab.errors import ModelNotFoundError, StancelabError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

log = logging.getLogger(__name__)

MODEL_SCHEMES = ("runs:/", "models:/", "mlflow-artifacts:/", "file:")
MAX_CHARS = 5000  # longer texts are cut: n-gram features past this add cost, not signal
SERVER_TIMEOUT = 5.0  # seconds to wait for a tracking server before saying it is down


def resolve_uri(uri: str, experiment: str | None = None, metric: str | None = None) -> Path:
    """Turn a model URI into a local folder (downloading from MLflow when needed)."""
    path = Path(uri)
    if path.exists():
        return path
    if uri != "best" and not uri.startswith(MODEL_SCHEMES):
        raise ModelNotFoundError(
            f"'{uri}' is neither an existing folder nor a model URI (runs:/<run id>/model, "
            "models:/<name>@<alias>, models:/<name>/<version>, best)"
        )
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from stancelab.errors import check_tracking_server

    check_tracking_server(os.environ.get("MLFLOW_TRACKING_URI"), SERVER_TIMEOUT)
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
    runs = mlflow.search_runs(
        [exp.experiment_id],
        filter_string="attributes.status = 'FINISHED'",
        order_by=[f"metrics.{metric} DESC"],
        max_results=50,
        output_format="list",
    )
    for run in runs:
        if metric in run.data.metrics and run.data.tags.get("stancelab.model_uri"):
            return run.data.tags["stancelab.model_uri"]
    raise ModelNotFoundError(
        f"no finished run with metric '{metric}' and a model in '{experiment}'"
    )


class Predictor:
    """Predict stances with a fitted :class:`~stancelab.models.StanceClassifier`.

    Accepts a list of strings (with ``target``), a list of dicts, or a DataFrame with ``text``
    and optional ``target`` columns. Texts are cut at ``max_chars``; empty texts get the label
    ``none`` with ``empty`` flagged instead of a prediction from nothing.
    """

    def __init__(
        self,
        model: Any,
        default_target: str | None = None,
        max_chars: int = MAX_CHARS,
        labels: Sequence[str] | None = None,
    ):
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

    def rows(self, data: Any, target: str | None = None) -> dict[str, list[Any]]:
        """Any accepted input as columns: ``text`` (cut at ``max_chars``, never missing),
        ``target`` (filled in where missing) and whatever other columns it had.

        Plain lists in, plain lists out: predicting from the CLI needs no pandas.
        """
        if isinstance(data, str):
            data = [data]
        if hasattr(data, "columns") and hasattr(data, "to_dict"):  # a DataFrame
            columns = {str(c): data[c].tolist() for c in data.columns}
        elif isinstance(data, Sequence) and all(isinstance(d, str) for d in data):
            columns = {"text": list(data)}
        elif isinstance(data, Sequence) and all(isinstance(d, Mapping) for d in data):
            names = list(dict.fromkeys(k for d in data for k in d))
            columns = {str(k): [d.get(k) for d in data] for k in names}
        else:
            raise StancelabError(
                "input must be a list of strings, a list of dicts with 'text', "
                "or a DataFrame with a 'text' column"
            )
        if "text" not in columns:
            raise StancelabError(f"input has no 'text' column (columns: {list(columns)})")
        fill = (
            target or self.default_target or (self.targets[0] if len(self.targets) == 1 else None)
        )
        if "target" not in columns:
            if fill is None:
                raise StancelabError(
                    "this model knows several targets; say which "
                    f"(target=..., one of: {', '.join(self.targets)})"
                )
            columns["target"] = [fill] * len(columns["text"])
        elif fill is not None:
            columns["target"] = [fill if _missing(t) or t == "" else t for t in columns["target"]]
        cut = self.max_chars
        texts = ["" if _missing(t) else str(t) for t in columns["text"]]
        long = sum(len(t) > cut for t in texts)
        if long:
            log.warning("%d text(s) longer than %d characters were cut to that length", long, cut)
        columns["text"] = [t[:cut] for t in texts]
        return columns

    def frame(self, data: Any, target: str | None = None) -> pd.DataFrame:
        """Normalise any accepted input into a ``text``/``target`` DataFrame (see :meth:`rows`)."""
        import pandas as pd

        return pd.DataFrame(self.rows(data, target))

    def _order(self) -> list[int]:
        own = [str(c) for c in self.model.classes_]
        return [own.index(c) for c in self.classes]

    def score(self, texts: list[str], targets: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Labels and scores (columns in :attr:`classes` order) of prepared columns.

        Empty texts are not sent to the model: they get ``none`` with score 1.
        """
        import numpy as np

        classes = self.classes
        empty = np.fromiter((not t.strip() for t in texts), dtype=bool, count=len(texts))
        proba = np.zeros((len(texts), len(classes)))
        if not empty.any():  # the usual case: no row selection
            proba = self.model.predict_proba({"text": texts, "target": targets})[:, self._order()]
        elif not empty.all():
            keep = np.flatnonzero(~empty).tolist()
            proba[~empty] = self.model.predict_proba(
                {"text": [texts[i] for i in keep], "target": [targets[i] for i in keep]}
            )[:, self._order()]
        labels = np.array(classes, dtype=object)[proba.argmax(axis=1)]
        if empty.any() and "none" in classes:
            labels[empty] = "none"
            proba[empty, classes.index("none")] = 1.0
        return labels, proba

    def predict_proba(self, data: Any, target: str | None = None) -> np.ndarray:
        """Scores with one column per label, in the order of :attr:`classes`."""
        columns = self.rows(data, target)
        return self.score(columns["text"], columns["target"])[1]

    def predict(self, data: Any, target: str | None = None) -> list[str]:
        columns = self.rows(data, target)
        return self.score(columns["text"], columns["target"])[0].tolist()

    def predict_frame(self, data: Any, target: str | None = None) -> pd.DataFrame:
        """``text``, ``target``, ``stance`` and one score column per label."""
        import pandas as pd

        columns = self.rows(data, target)
        labels, proba = self.score(columns["text"], columns["target"])
        out = {
            "text": columns["text"],
            "target": columns["target"],
            "stance": labels,
            **{label: proba[:, j] for j, label in enumerate(self.classes)},
        }
        index = data.index if isinstance(data, pd.DataFrame) else None
        return pd.DataFrame(out, index=index)

    def predict_records(
        self, data: Any, target: str | None = None, batch_size: int = 4096, progress: bool = False
    ) -> list[dict[str, Any]]:
        """One dict per input row: its other columns, then ``text``, ``target``, ``stance``
        and the scores. In batches, with a progress bar on big inputs on a terminal."""
        return list(self.iter_records(data, target, batch_size, progress))

    def iter_records(
        self, data: Any, target: str | None = None, batch_size: int = 4096, progress: bool = False
    ) -> Iterator[dict[str, Any]]:
        """:meth:`predict_records` as a stream: each batch's records as soon as it is scored,
        so that a writer can put the first rows on disk before the last are scored."""
        if batch_size < 1:
            raise StancelabError(f"batch size must be 1 or more, not {batch_size}")
        columns = self.rows(data, target)
        texts, targets = columns["text"], columns["target"]
        extra = [c for c in columns if c not in ("text", "target", "stance", *self.classes)]
        starts: Iterable[int] = range(0, len(texts), batch_size)
        if progress and len(texts) > batch_size and sys.stderr.isatty():
            from rich.progress import track

            starts = track(starts, description="predicting", transient=True)
        for start in starts:
            stop = start + batch_size
            labels, proba = self.score(texts[start:stop], targets[start:stop])
            for i, (label, scores) in enumerate(
                zip(labels.tolist(), proba.tolist(), strict=True), start=start
            ):
                rec = {c: columns[c][i] for c in extra}
                rec.update(text=texts[i], target=targets[i], stance=label)
                rec.update(zip(self.classes, scores, strict=True))
                yield rec


def _missing(value: Any) -> bool:
    """None or NaN (what pandas puts in an empty cell)."""
    return value is None or (isinstance(value, float) and value != value)


ENGINES = ("sklearn", "lite", "auto")


def load(
    uri: str,
    *,
    trust: Iterable[str] = (),
    default_target: str | None = None,
    experiment: str | None = None,
    metric: str | None = None,
    engine: str = "sklearn",
) -> Predictor:
    """Load a model by URI: ``runs:/ID/model``, ``models:/name@alias``, ``models:/name/N``,
    a local model folder (or a ``.skops`` file), or ``best`` (best run of ``experiment``).

    ``engine`` picks what scores: ``sklearn`` (the fitted StanceClassifier, as trained),
    ``lite`` (its NumPy-only copy, see :mod:`stancelab.lite`: no scikit-learn import, same
    scores) or ``auto`` (``lite`` when the model has a copy and no ``trust`` is asked for).
    """
    if engine not in ENGINES:
        raise StancelabError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    path = resolve_uri(uri, experiment, metric)
    model, meta = persistence.load_folder(path, trust, engine)
    return Predictor(
        model,
        default_target=default_target or meta.get("default_target"),
        labels=meta.get("labels"),
    )


def article_report(records: list[dict[str, Any]], classes: list[str]) -> str:
    """Per-sentence stances and the document's share of each stance."""
    from collections import Counter

    lines = []
    for i, rec in enumerate(records, start=1):
        lines.append(f"{i:>3}  {rec['stance']:<8} {rec[rec['stance']]:.2f}  {rec['text']}")
    counts = Counter(rec["stance"] for rec in records)
    total = len(records)
    shares = "  ".join(
        f"{c} {counts.get(c, 0)} ({counts.get(c, 0) / max(1, total):.0%})" for c in classes
    )
    target = records[0]["target"] if total else ""
    lines += ["", f"summary  {total} sentences toward '{target}': {shares}"]
    return "\n".join(lines)


EVALUATE_FORMATS = {".jsonl": "stancelab", ".csv": "csv", ".tsv": "tsv", ".json": "label_studio"}


def evaluate_file(
    predictor: Predictor,
    path: Path,
    fmt: str | None = None,
    target: str | None = None,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """Score a saved model on an annotated file, with the training code's metrics.

    The file goes through the dataset pipeline's steps (stancelab.data.build.prepare_records)
    with the configured label map, cleaning, aggregation and deduplication: it is read exactly
    as a training source would be.
    """
    from omegaconf import OmegaConf

    from stancelab import evaluation as ev
    from stancelab.config import compose
    from stancelab.data.build import prepare_records
    from stancelab.io import check_input

    full = compose(overrides)
    check_input(path)
    if fmt is None:
        if path.suffix.lower() == ".txt":
            raise StancelabError(
                f"{path}: a .txt file is one sentence a line, with no labels (what predict "
                "reads); give an annotated .jsonl, .csv, .tsv or Label Studio .json file, or "
                "say how to read it with --format (e.g. --format tsv)"
            )
        fmt = EVALUATE_FORMATS.get(path.suffix.lower(), "stancelab")
    fill = target or predictor.default_target
    source = {
        "format": fmt,
        "paths": [str(path)],
        **({"defaults": {"target": fill}} if fill else {}),
    }
    dataset = {
        **OmegaConf.to_container(full.dataset, resolve=True),
        "sources": [source],
        "labels": list(predictor.classes),
        "targets": [],
    }
    records, _, _ = prepare_records(dataset)
    if not records:
        raise StancelabError(f"{path}: no annotated records to evaluate")
    frame = predictor.predict_frame([{"text": r["text"], "target": r["target"]} for r in records])
    result = ev.evaluate(
        [r["stance"] for r in records],
        frame["stance"],
        frame["target"],
        labels=predictor.classes,
        bootstrap=full.evaluation.bootstrap,
        seed=full.seed,
    )
    return {"metrics": result.metrics, "text": ev.summary_table(result)}
