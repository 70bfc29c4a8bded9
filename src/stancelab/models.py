"""Stance models: a scikit-learn pipeline over ``text`` (and ``target``), made target-aware.

Inputs are DataFrames with a ``text`` and a ``target`` column everywhere: in training, in
MLflow's pyfunc and in the REST server. A ``ColumnTransformer`` picks the columns, so a model
never mistakes a DataFrame's column names for documents.

Three ways to use the target, chosen by ``target_mode`` in config:

* ``joint``: one model for all targets, which also sees the target (one-hot);
* ``per_target``: one model per target, the SemEval-2016 baseline's way;
* ``text_only``: one model over the text alone, for targets unseen in training (IBM Claim
  Stance's test motions, say).

In the first two a sentence whose target the model never saw is refused with a clear error.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.validation import check_is_fitted

from stancelab.errors import check_known_targets

TEXT, TARGET = "text", "target"


def make_pipeline(features: Any, classifier: Any, use_target: bool = True) -> Pipeline:
    """Text features (plus the one-hot target when ``use_target``) feeding a classifier.

    ``features="passthrough"`` hands the raw text (and the target as text) to the classifier,
    for models that tokenize themselves.
    """
    if isinstance(features, str) and features == "passthrough":
        columns = [("text", "passthrough", [TEXT])]
        if use_target:
            columns.append(("target", "passthrough", [TARGET]))
        return Pipeline([("columns", ColumnTransformer(columns)), ("classifier", classifier)])
    columns = [("text", features, TEXT)]
    if use_target:
        columns.append(("target", OneHotEncoder(handle_unknown="ignore"), [TARGET]))
    return Pipeline([("columns", ColumnTransformer(columns)), ("classifier", classifier)])


class StanceClassifier(ClassifierMixin, BaseEstimator):
    """Target-aware stance classifier over a DataFrame with ``text`` and ``target`` columns.

    Parameters
    ----------
    pipeline : estimator
        A scikit-learn pipeline taking the DataFrame (see :func:`make_pipeline`); cloned per fit.
    per_target : bool
        Fit one clone per target instead of one joint model.
    known_targets_only : bool
        Refuse sentences whose target was not seen in training (off for ``text_only``).
    """

    def __init__(
        self, pipeline: Any = None, per_target: bool = False, known_targets_only: bool = True
    ):
        self.pipeline = pipeline
        self.per_target = per_target
        self.known_targets_only = known_targets_only

    def fit(self, X: pd.DataFrame, y: Any) -> StanceClassifier:
        X = _frame(X)
        y = np.asarray(y, dtype=object)
        self.classes_ = np.array(sorted(set(y)), dtype=object)
        self.targets_ = np.array(sorted(X[TARGET].unique()), dtype=object)
        if self.per_target:
            self.estimators_ = {}
            for target in self.targets_:
                mask = (X[TARGET] == target).to_numpy()
                labels = set(y[mask])
                # A target seen with one label only has nothing to learn: remember the label.
                self.estimators_[target] = (
                    next(iter(labels))
                    if len(labels) == 1
                    else clone(self.pipeline).fit(X[mask], y[mask])
                )
        else:
            self.estimator_ = clone(self.pipeline).fit(X, y)
        for est in [getattr(self, "estimator_", None), *getattr(self, "estimators_", {}).values()]:
            _drop_stop_words(est)
        return self

    def _check_targets(self, X: pd.DataFrame) -> None:
        # getattr: models saved before this parameter existed check targets as they did then.
        if not getattr(self, "known_targets_only", True) and not self.per_target:
            return
        check_known_targets(X[TARGET], self.targets_)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "classes_")
        X = _frame(X)
        self._check_targets(X)
        out = np.zeros((len(X), len(self.classes_)))
        if not self.per_target:
            return _align(self.estimator_, self.estimator_.predict_proba(X), self.classes_)
        for target, est in self.estimators_.items():
            mask = (X[TARGET] == target).to_numpy()
            if not mask.any():
                continue
            if isinstance(est, str):
                out[mask, list(self.classes_).index(est)] = 1.0
            else:
                out[mask] = _align(est, est.predict_proba(X[mask]), self.classes_)
        return out

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # Saving. skops writes a dict as one JSON node per key and per value, so the vocabularies of
    # the TF-IDF vectorizers (~90k terms in the default model) made a 100 MB schema that took
    # ~7 s to write and ~5 s to read. The saved state holds each vocabulary as one string of
    # terms in column order instead; loading rebuilds the dicts.

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        fitted = [k for k in ("estimator_", "estimators_") if k in state]
        if fitted:
            state = {**state, **copy.deepcopy({k: state[k] for k in fitted})}
            for key in fitted:
                for vectorizer in _vectorizers(state[key]):
                    vectorizer.vocabulary_ = _pack(vectorizer.vocabulary_)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for key in ("estimator_", "estimators_"):
            for vectorizer in _vectorizers(getattr(self, key, None)):
                if isinstance(vectorizer.vocabulary_, str):
                    vectorizer.vocabulary_ = _unpack(vectorizer.vocabulary_)


_SEPARATOR = "\x00"


def _pack(vocabulary: Any) -> Any:
    """``{term: column}`` → the terms joined in column order (unchanged if that would be lossy)."""
    if not isinstance(vocabulary, dict):
        return vocabulary
    terms = sorted(vocabulary, key=vocabulary.__getitem__)
    contiguous = all(vocabulary[t] == i for i, t in enumerate(terms))
    if not contiguous or any(_SEPARATOR in t for t in terms):
        return vocabulary
    return _SEPARATOR.join(terms)


def _unpack(packed: str) -> dict[str, int]:
    return {term: i for i, term in enumerate(packed.split(_SEPARATOR))} if packed else {}


def _children(estimator: Any) -> list[Any]:
    """The sub-estimators of pipelines, column transformers and feature unions."""
    if isinstance(estimator, dict):  # per-target models
        return list(estimator.values())
    return [
        *(s for _, s in getattr(estimator, "steps", [])),
        *(t for _, t, *_ in getattr(estimator, "transformers_", [])),
        *(t for _, t in getattr(estimator, "transformer_list", [])),
    ]


def walk_estimators(estimator: Any) -> list[Any]:
    """``estimator`` and every estimator inside it (pipelines, unions, per-target models)."""
    if estimator is None or isinstance(estimator, str):
        return []
    inner = [
        getattr(estimator, k)
        for k in ("estimator_", "pipeline")
        if getattr(estimator, k, None) is not None
    ]
    inner += (
        list(getattr(estimator, "estimators_", {}).values())
        if isinstance(getattr(estimator, "estimators_", None), dict)
        else []
    )
    out = [estimator]
    for child in [*inner, *_children(estimator)]:
        out += walk_estimators(child)
    return out


def _vectorizers(estimator: Any) -> list[Any]:
    """Every fitted object with a ``vocabulary_`` inside ``estimator``."""
    if estimator is None or isinstance(estimator, str):
        return []
    own = [estimator] if hasattr(estimator, "vocabulary_") else []
    return own + [v for child in _children(estimator) for v in _vectorizers(child)]


def _drop_stop_words(estimator: Any) -> None:
    """Delete vectorizers' ``stop_words_``: the terms cut by ``min_df``/``max_df``.

    scikit-learn keeps them for introspection only; with character n-grams they are hundreds of
    thousands of strings, which made saving a model take half a minute.
    """
    if estimator is None or isinstance(estimator, str):
        return
    if hasattr(estimator, "stop_words_"):
        del estimator.stop_words_
    for child in _children(estimator):
        _drop_stop_words(child)


def _frame(X: Any) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(X)
    missing = [c for c in (TEXT, TARGET) if c not in X.columns]
    if missing:
        raise ValueError(f"input lacks column(s) {missing}; it has {list(X.columns)}")
    return X


def _align(estimator: Any, proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Place a sub-model's columns under the global class order (it may lack a class)."""
    own = list(estimator.classes_)
    if own == list(classes):
        return proba
    out = np.zeros((proba.shape[0], len(classes)))
    for j, label in enumerate(own):
        out[:, list(classes).index(label)] = proba[:, j]
    return out


class Blend(ClassifierMixin, BaseEstimator):
    """Average the probabilities of several stance models, each with its own features.

    n-grams and a fine-tuned encoder make different mistakes (the first reads phrases, the
    second reads scope and paraphrase), so their average is often better than either. Use with
    ``features=raw``: the blend receives text and target as strings and gives each member its
    own pipeline (see :func:`make_pipeline`).

    Parameters
    ----------
    members : dict
        ``{name: {"features": transformer or "passthrough", "classifier": estimator}}``; a
        member set to None is left out.
    weights : dict or None
        ``{name: weight}``; equal weights when None.
    """

    def __init__(
        self, members: dict[str, Any] | None = None, weights: dict[str, float] | None = None
    ):
        self.members = members
        self.weights = weights

    def fit(self, X: Any, y: Any) -> Blend:
        frame = raw_frame(X)
        y = np.asarray(y, dtype=object)
        self.classes_ = np.array(sorted(set(y)), dtype=object)
        self.fitted_ = {}
        for name, member in (self.members or {}).items():
            if member is None:  # dropped by an override (model.members.encoder=null)
                continue
            pipe = make_pipeline(
                member["features"], member["classifier"], use_target=TARGET in frame
            )
            self.fitted_[name] = clone(pipe).fit(frame, y)
        if not self.fitted_:
            raise ValueError("a blend needs at least one member")
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "fitted_")
        frame = raw_frame(X)
        weights = self.weights or {}
        total, out = 0.0, np.zeros((len(frame), len(self.classes_)))
        for name, pipe in self.fitted_.items():
            w = float(weights.get(name, 1.0))
            out += w * _align(pipe, pipe.predict_proba(frame), self.classes_)
            total += w
        return out / total

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def raw_frame(X: Any) -> pd.DataFrame:
    """The rows ``features=raw`` passes on (text[, target] strings) as a DataFrame."""
    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 1:
        return pd.DataFrame({TEXT: arr})
    columns = {TEXT: arr[:, 0]}
    if arr.shape[1] > 1:
        columns[TARGET] = arr[:, 1]
    return pd.DataFrame(columns)


def build_model(cfg: Any) -> StanceClassifier:
    """Instantiate features and classifier from config and wrap them for stance."""
    from hydra.utils import instantiate

    from stancelab.errors import StancelabError

    mode = cfg.target_mode
    if mode not in ("joint", "per_target", "text_only"):
        raise StancelabError(f"target_mode must be joint, per_target or text_only, not {mode!r}")
    features = instantiate(cfg.features, _convert_="all")
    classifier = instantiate(cfg.model, _convert_="all")
    # A model that reads the target as text (features=raw, joint) can score unseen targets;
    # a one-hot target cannot.
    reads_target = mode == "joint" and isinstance(features, str) and features == "passthrough"
    return StanceClassifier(
        make_pipeline(features, classifier, use_target=mode == "joint"),
        per_target=mode == "per_target",
        known_targets_only=mode != "text_only" and not reads_target,
    )
