"""The measures the stance field reports, computed the same way for training and ``evaluate``.

* accuracy and macro-F1 over all labels;
* SemEval-2016's ``F_avg``: the mean of the F1 of *favor* and of *against*, computed on all
  sentences pooled (``none`` is predicted and counted as an error when wrong, but its own F1 is
  not averaged in);
* per-class precision / recall / F1, per-target macro-F1 and F_avg;
* a bootstrap 95% interval for macro-F1, because a test set of a few hundred sentences cannot
  separate systems a point apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Evaluation:
    """Metrics (flat, MLflow-ready names without the split prefix) and the confusion matrix."""

    metrics: dict[str, float]
    labels: list[str]
    confusion: np.ndarray
    per_target: dict[str, dict[str, float]] = field(default_factory=dict)

    def prefixed(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}_{k}": v for k, v in self.metrics.items()}


def slug(text: str) -> str:
    """A metric-name-safe form of a target name."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def _prf(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp = np.diag(cm).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.nan_to_num(tp / cm.sum(axis=0))
        recall = np.nan_to_num(tp / cm.sum(axis=1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return precision, recall, f1


def _scores(cm: np.ndarray, labels: Sequence[str], favor: str, against: str) -> dict[str, float]:
    precision, recall, f1 = _prf(cm)
    present = (cm.sum(axis=0) + cm.sum(axis=1)) > 0
    out = {
        "accuracy": float(np.trace(cm) / max(1, cm.sum())),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "n": float(cm.sum()),
    }
    stance = [labels.index(x) for x in (favor, against) if x in labels]
    out["f_avg"] = float(f1[stance].mean()) if stance else float("nan")
    for i, label in enumerate(labels):
        out[f"precision_{slug(label)}"] = float(precision[i])
        out[f"recall_{slug(label)}"] = float(recall[i])
        out[f"f1_{slug(label)}"] = float(f1[i])
    return out


def bootstrap_macro_f1(
    y_true: np.ndarray, y_pred: np.ndarray, k: int, resamples: int, seed: int
) -> tuple[float, float]:
    """Percentile 95% interval of macro-F1 over ``resamples`` bootstrap resamples.

    Resampling n (annotated, predicted) pairs with replacement is drawing n times from the
    confusion matrix's cells in proportion to their counts, so each resample's confusion matrix
    is one multinomial draw: the same distribution as resampling rows, without touching them.
    """
    rng = np.random.default_rng(seed)
    cm = _confusion(y_true, y_pred, k).ravel()
    n = int(cm.sum())
    cms = rng.multinomial(n, cm / n, size=resamples).reshape(resamples, k, k).astype(float)
    tp = np.diagonal(cms, axis1=1, axis2=2)
    predicted, annotated = cms.sum(axis=1), cms.sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.nan_to_num(2 * tp / (predicted + annotated))
    present = (predicted + annotated) > 0
    values = (f1 * present).sum(axis=1) / present.sum(axis=1)
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def evaluate(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    targets: Sequence[str] | None = None,
    labels: Sequence[str] = ("favor", "against", "none"),
    favor: str = "favor",
    against: str = "against",
    bootstrap: int = 0,
    seed: int = 0,
) -> Evaluation:
    """Score predictions; ``targets`` (one per sentence) adds the per-target breakdown."""
    labels = list(labels)
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({str(y) for y in (*y_true, *y_pred)} - set(labels))
    if unknown:
        raise ValueError(f"labels {unknown} are not in the label set {labels}")
    t = np.array([index[y] for y in y_true], dtype=int)
    p = np.array([index[y] for y in y_pred], dtype=int)
    k = len(labels)
    cm = _confusion(t, p, k)
    metrics = _scores(cm, labels, favor, against)
    if bootstrap and len(t):
        metrics["macro_f1_ci_low"], metrics["macro_f1_ci_high"] = bootstrap_macro_f1(
            t, p, k, bootstrap, seed
        )
    per_target: dict[str, dict[str, float]] = {}
    if targets is not None:
        tg = np.asarray(targets, dtype=object)
        for target in sorted(set(tg)):
            mask = tg == target
            scores = _scores(_confusion(t[mask], p[mask], k), labels, favor, against)
            per_target[target] = scores
            for name in ("macro_f1", "f_avg", "accuracy", "n"):
                metrics[f"target_{slug(target)}_{name}"] = scores[name]
    return Evaluation(metrics, labels, cm, per_target)


def plot_confusion(evaluation: Evaluation, path: Path, title: str) -> Path:
    """Confusion matrix (counts, with row-normalised shading) as a PNG."""
    # A bare Figure with the Agg canvas: no pyplot, no GUI backend, nothing global to close.
    from matplotlib.figure import Figure

    cm = evaluation.confusion
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm, dtype=float), where=rows > 0)
    fig = Figure(figsize=(4.2, 3.8), dpi=120)
    ax = fig.subplots()
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    labels = evaluation.labels
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("annotated")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j,
                i,
                f"{cm[i, j]}\n{share[i, j]:.0%}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if share[i, j] > 0.5 else "black",
            )
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    return path


def misclassified(
    frame: Any, y_pred: Sequence[str], proba: np.ndarray | None, classes: Sequence[str], limit: int
) -> Any:
    """The wrongly classified sentences, most confident mistakes first."""
    out = frame.assign(predicted=list(y_pred))
    if proba is not None:
        out = out.assign(confidence=proba.max(axis=1))
        for j, label in enumerate(classes):
            out[f"p_{label}"] = proba[:, j]
    out = out[out["stance"] != out["predicted"]]
    if "confidence" in out:
        out = out.sort_values("confidence", ascending=False)
    return out.head(limit)


def summary_table(evaluation: Evaluation) -> str:
    """Per-class and per-target scores as a Markdown table (logged as an artifact)."""
    m = evaluation.metrics
    lines = ["| class | precision | recall | F1 |", "|---|---:|---:|---:|"]
    for label in evaluation.labels:
        s = slug(label)
        lines.append(
            f"| {label} | {m[f'precision_{s}']:.3f} | {m[f'recall_{s}']:.3f} | {m[f'f1_{s}']:.3f} |"
        )
    lines += [
        "",
        f"accuracy {m['accuracy']:.3f} · macro-F1 {m['macro_f1']:.3f} · "
        f"F_avg {m['f_avg']:.3f} · n {int(m['n'])}",
    ]
    if "macro_f1_ci_low" in m:
        lines[-1] += f" · macro-F1 95% CI [{m['macro_f1_ci_low']:.3f}, {m['macro_f1_ci_high']:.3f}]"
    if evaluation.per_target:
        lines += ["", "| target | n | macro-F1 | F_avg | accuracy |", "|---|---:|---:|---:|---:|"]
        for target, s in evaluation.per_target.items():
            lines.append(
                f"| {target} | {int(s['n'])} | {s['macro_f1']:.3f} | {s['f_avg']:.3f} | "
                f"{s['accuracy']:.3f} |"
            )
    return "\n".join(lines) + "\n"
