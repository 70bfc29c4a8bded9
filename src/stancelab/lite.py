"""NumPy-only copies of linear stance models: predictions without importing scikit-learn.

Why: a cold ``stancelab predict`` on one sentence spent ~2 s importing scikit-learn, SciPy and
pandas before reading a byte of the model. For the models most configs build (TF-IDF or hashed
n-grams, the one-hot target, a linear classifier with probabilities) a prediction is a
dictionary lookup per n-gram and a dot product, which NumPy alone does in milliseconds.

:func:`export` walks a fitted :class:`~stancelab.models.StanceClassifier` and writes the arrays
and settings that define it to one ``.npz`` file; anything it does not reproduce exactly (custom
tokenizers, embeddings, non-linear models, ...) raises :class:`NotExportable`, and the copy is
checked against the model's own ``predict_proba`` on sample sentences before it is written. So
a model folder either has a copy that agrees with scikit-learn or has none, and loaders fall
back to the skops file. :func:`load` reads the file with ``allow_pickle=False``: it runs no code.

The analyzers below restate scikit-learn's (``sklearn/feature_extraction/text.py``, 1.9): same
lower-casing, accent stripping, token pattern, word n-grams, ``char`` and ``char_wb`` n-grams;
hashed features use MurmurHash3 (x86, 32 bit, seed 0) on UTF-8 bytes, as ``HashingVectorizer``.
"""

from __future__ import annotations

import json
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np

from stancelab.errors import StancelabError, check_known_targets
from stancelab.persistence import LITE_FILE
from stancelab.scope import mark_scopes

#: ScopeMarker parameters a copy records (all of them: they define the marked text).
SCOPE_PARAMS = ("negation", "report", "clause_end", "max_words")

FORMAT = 1
CHUNK = 2048  # documents scored at once: bounds memory on big inputs
_WHITE_SPACES = re.compile(r"\s\s+")


class NotExportable(StancelabError):
    """The model holds a part this module cannot reproduce exactly."""


# --------------------------------------------------------------------------- hashing


def murmurhash3_32(keys: Sequence[bytes], seed: int = 0) -> np.ndarray:
    """Signed 32-bit MurmurHash3 (x86) of each key, computed for all keys at once."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    lengths = np.fromiter(map(len, keys), dtype=np.int64, count=n)
    blocks = lengths // 4
    width = int(blocks.max()) + 1
    padded = b"".join(key.ljust(4 * width, b"\0") for key in keys)
    words = np.frombuffer(padded, dtype="<u4").reshape(n, width)
    c1, c2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)

    def mix(k: np.ndarray) -> np.ndarray:
        k = k * c1
        k = (k << np.uint32(15)) | (k >> np.uint32(17))
        return k * c2

    h = np.full(n, seed, dtype=np.uint32)
    for j in range(width - 1):
        step = h ^ mix(words[:, j])
        step = (step << np.uint32(13)) | (step >> np.uint32(19))
        step = step * np.uint32(5) + np.uint32(0xE6546B64)
        h = np.where(blocks > j, step, h)
    tail = words[np.arange(n), blocks]
    h = np.where(lengths % 4 > 0, h ^ mix(tail), h)
    h ^= lengths.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h.view(np.int32).astype(np.int64)


# --------------------------------------------------------------------------- analyzers


def _strip_unicode(s: str) -> str:
    if s.isascii():
        return s
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def _strip_ascii(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ASCII", "ignore").decode("ASCII")


def analyzer(spec: Mapping[str, Any]) -> Callable[[str], list[str]]:
    """The n-grams of one document, as the vectorizer ``spec`` was exported from makes them."""
    lower = spec["lowercase"]
    strip = {None: None, "unicode": _strip_unicode, "ascii": _strip_ascii}[spec["strip_accents"]]
    min_n, max_n = spec["ngram_range"]

    def preprocess(doc: str) -> str:
        if lower:
            doc = doc.lower()
        return strip(doc) if strip else doc

    if spec["analyzer"] == "word":
        findall = re.compile(spec["token_pattern"]).findall
        stop = frozenset(spec["stop_words"]) if spec["stop_words"] is not None else None

        def words(doc: str) -> list[str]:
            tokens = findall(preprocess(doc))
            if stop is not None:
                tokens = [w for w in tokens if w not in stop]
            grams = list(tokens) if min_n == 1 else []
            for n in range(max(min_n, 2), min(max_n, len(tokens)) + 1):
                grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
            return grams

        return words

    if spec["analyzer"] == "char":

        def chars(doc: str) -> list[str]:
            text = _WHITE_SPACES.sub(" ", preprocess(doc))
            grams = list(text) if min_n == 1 else []
            for n in range(max(min_n, 2), min(max_n, len(text)) + 1):
                grams += [text[i : i + n] for i in range(len(text) - n + 1)]
            return grams

        return chars

    def chars_in_words(doc: str) -> list[str]:
        grams: list[str] = []
        for word in _WHITE_SPACES.sub(" ", preprocess(doc)).split():
            padded = f" {word} "
            for n in range(min_n, max_n + 1):
                if len(padded) <= n:  # a word shorter than n: once, whole, then no longer n
                    grams.append(padded)
                    break
                grams += [padded[i : i + n] for i in range(len(padded) - n + 1)]
        return grams

    return chars_in_words


# --------------------------------------------------------------------------- export


def _analyzer_spec(vec: Any) -> dict[str, Any]:
    """The settings that define a vectorizer's analyzer, or NotExportable."""
    name = type(vec).__name__
    for attr in ("preprocessor", "tokenizer"):
        if getattr(vec, attr) is not None:
            raise NotExportable(f"{name} has a custom {attr}")
    if vec.analyzer not in ("word", "char", "char_wb"):
        raise NotExportable(f"{name} has a custom analyzer")
    if vec.input != "content" or vec.strip_accents not in (None, "unicode", "ascii"):
        raise NotExportable(
            f"{name} reads input={vec.input!r}, strip_accents={vec.strip_accents!r}"
        )
    if np.dtype(vec.dtype) != np.float64 and np.dtype(vec.dtype).kind not in "iu":
        raise NotExportable(f"{name} computes in {np.dtype(vec.dtype)}")
    if vec.analyzer == "word" and re.compile(vec.token_pattern).groups > 1:
        raise NotExportable(f"{name}'s token pattern has several groups")
    stop = vec.get_stop_words() if vec.analyzer == "word" else None
    return {
        "analyzer": vec.analyzer,
        "ngram_range": list(vec.ngram_range),
        "lowercase": bool(vec.lowercase),
        "strip_accents": vec.strip_accents,
        "token_pattern": vec.token_pattern,
        "stop_words": sorted(stop) if stop else None,
    }


class _Writer:
    """Collects the JSON spec and the arrays it names while walking a model."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def add(self, array: Any) -> str:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(array)
        return key

    def text(self, items: Sequence[str]) -> str:
        return self.add(np.frombuffer("\x00".join(items).encode("utf-8"), dtype=np.uint8))


def _tfidf_spec(w: _Writer, tfidf: Any) -> dict[str, Any]:
    idf = getattr(tfidf, "idf_", None)
    return {
        "sublinear_tf": bool(tfidf.sublinear_tf),
        "norm": tfidf.norm,
        "idf": w.add(np.asarray(idf, dtype=np.float64)) if idf is not None else None,
    }


def _text_blocks(w: _Writer, est: Any, weight: float = 1.0) -> list[dict[str, Any]]:
    """Blocks (each a run of columns with its own normalisation) of a text transformer."""
    from sklearn.feature_extraction.text import (
        CountVectorizer,
        HashingVectorizer,
        TfidfTransformer,
        TfidfVectorizer,
    )
    from sklearn.pipeline import FeatureUnion, Pipeline

    from stancelab.features import ScopeMarker

    kind = type(est)
    if kind is FeatureUnion:
        weights = est.transformer_weights or {}
        return [
            b
            for name, part in est.transformer_list
            if part != "drop"
            for b in _text_blocks(w, part, weight * weights.get(name, 1.0))
        ]
    if kind is Pipeline:
        steps = [s for _, s in est.steps if s not in (None, "passthrough")]
        if len(steps) >= 2 and type(steps[0]) is ScopeMarker:
            scope = {k: steps[0].get_params()[k] for k in SCOPE_PARAMS}
            rest = Pipeline([(f"s{i}", step) for i, step in enumerate(steps[1:])])
            return [{**b, "scope": scope} for b in _text_blocks(w, rest, weight)]
        if len(steps) == 2 and type(steps[1]) is TfidfTransformer:
            (block,) = _text_blocks(w, steps[0], weight)
            if block["tfidf"] is not None or block["norm"] is not None:
                raise NotExportable("a TfidfTransformer after a normalising vectorizer")
            return [{**block, "tfidf": _tfidf_spec(w, steps[1])}]
        if len(steps) == 1:
            return _text_blocks(w, steps[0], weight)
        raise NotExportable("a text pipeline other than vectorizer [+ TfidfTransformer]")
    if kind in (TfidfVectorizer, CountVectorizer):
        terms = sorted(est.vocabulary_, key=est.vocabulary_.__getitem__)
        if any("\x00" in t for t in terms) or [est.vocabulary_[t] for t in terms] != list(
            range(len(terms))
        ):
            raise NotExportable(f"{kind.__name__}'s vocabulary is not one column per term")
        return [
            {
                "kind": "vocab",
                "width": len(terms),
                "terms": w.text(terms),
                "analyzer": _analyzer_spec(est),
                "binary": bool(est.binary),
                "weight": weight,
                "norm": None,
                "tfidf": _tfidf_spec(w, est._tfidf) if kind is TfidfVectorizer else None,
            }
        ]
    if kind is HashingVectorizer:
        return [
            {
                "kind": "hash",
                "width": int(est.n_features),
                "analyzer": _analyzer_spec(est),
                "alternate_sign": bool(est.alternate_sign),
                "binary": bool(est.binary),
                "weight": weight,
                "norm": est.norm,
                "tfidf": None,
            }
        ]
    raise NotExportable(f"{kind.__module__}.{kind.__name__} is not a supported text feature")


def _classifier_spec(w: _Writer, clf: Any) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    kind = type(clf)
    if kind is LogisticRegression:
        link = "softmax" if len(clf.classes_) > 2 else "ovr"
    elif kind is SGDClassifier and clf.loss == "log_loss":
        link = "ovr"
    else:
        raise NotExportable(f"{kind.__name__} (loss or probabilities other than logistic)")
    return {
        "link": link,
        "classes": [str(c) for c in clf.classes_],
        "coef": w.add(np.asarray(clf.coef_, dtype=np.float64)),
        "intercept": w.add(np.asarray(clf.intercept_, dtype=np.float64)),
    }


def _pipeline_spec(w: _Writer, pipe: Any) -> dict[str, Any]:
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    if isinstance(pipe, str):  # a per-target model that saw one label
        return {"constant": pipe}
    columns, clf = (s for _, s in pipe.steps)
    if type(columns) is not ColumnTransformer or columns.transformer_weights:
        raise NotExportable("the pipeline does not start with a plain ColumnTransformer")
    blocks: list[dict[str, Any]] = []
    for name, part, cols in columns.transformers_:
        if (
            part == "drop"
            or columns.output_indices_[name].stop == columns.output_indices_[name].start
        ):
            continue
        start = columns.output_indices_[name].start
        if cols == "text":
            parts = _text_blocks(w, part)
        elif cols == ["target"] and type(part) is OneHotEncoder:
            if (
                part.drop_idx_ is not None
                or part.handle_unknown != "ignore"
                or getattr(part, "_infrequent_enabled", False)
            ):
                raise NotExportable("a OneHotEncoder that drops or groups categories")
            parts = [
                {
                    "kind": "target",
                    "width": len(part.categories_[0]),
                    "categories": [str(c) for c in part.categories_[0]],
                }
            ]
        else:
            raise NotExportable(f"column transformer part {name!r} ({type(part).__name__})")
        for block in parts:
            blocks.append({**block, "offset": start})
            start += block["width"]
        if start != columns.output_indices_[name].stop:
            raise NotExportable(f"column transformer part {name!r} has an unexpected width")
    return {"blocks": blocks, "classifier": _classifier_spec(w, clf)}


def export(
    model: Any,
    path: Path,
    check: Mapping[str, Sequence[str]] | None = None,
    tolerance: float = 1e-9,
) -> Path:
    """Write the NumPy copy of a fitted StanceClassifier to ``path``.

    ``check`` (``text`` and ``target`` lists) are sentences both the model and the copy score;
    any difference above ``tolerance`` raises NotExportable and nothing is written.
    """
    w = _Writer()
    per_target = bool(model.per_target)
    if per_target:
        models = {str(t): _pipeline_spec(w, est) for t, est in model.estimators_.items()}
    else:
        models = {"*": _pipeline_spec(w, model.estimator_)}
    spec = {
        "format": FORMAT,
        "classes": [str(c) for c in model.classes_],
        "targets": [str(t) for t in model.targets_],
        "per_target": per_target,
        "known_targets_only": bool(getattr(model, "known_targets_only", True)),
        "models": models,
    }
    lite = LiteModel(spec, dict(w.arrays))
    if check is not None and len(check["text"]):
        import pandas as pd

        frame = pd.DataFrame({"text": list(check["text"]), "target": list(check["target"])})
        diff = float(np.max(np.abs(model.predict_proba(frame) - lite.predict_proba(frame))))
        if not diff <= tolerance:
            raise NotExportable(f"the copy's scores differ from the model's by {diff:.3g}")
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(
            fh, spec=np.frombuffer(json.dumps(spec).encode("utf-8"), dtype=np.uint8), **w.arrays
        )
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------- scoring


class _Block:
    """One run of feature columns: n-gram → column lookup, weighting and normalisation."""

    def __init__(self, spec: Mapping[str, Any], arrays: Mapping[str, np.ndarray]):
        self.spec = spec
        self.scope = spec.get("scope")
        self.offset = int(spec["offset"])
        self.kind = spec["kind"]
        tfidf = spec.get("tfidf")
        self.idf = arrays[tfidf["idf"]] if tfidf and tfidf["idf"] else None
        self.sublinear = bool(tfidf and tfidf["sublinear_tf"])
        self.norm = tfidf["norm"] if tfidf else spec.get("norm")
        if self.kind == "target":
            self.columns = {c: i for i, c in enumerate(spec["categories"])}
            return
        self.analyze = analyzer(spec["analyzer"])
        if self.kind == "vocab":
            text = arrays[spec["terms"]].tobytes().decode("utf-8")
            self.columns = {t: i for i, t in enumerate(text.split("\x00"))} if text else {}
        else:
            self.columns, self.signs = {}, {}  # caches: hashed n-gram → column, → sign

    def _hashed(self, grams: list[str]) -> None:
        """Hash the n-grams not seen before (all at once) into the column and sign caches."""
        new = [g for g in set(grams) if g not in self.columns]
        if not new:
            return
        if len(self.columns) > 2_000_000:  # bound the caches on endless inputs
            self.columns.clear()
            self.signs.clear()
        h = murmurhash3_32([g.encode("utf-8") for g in new])
        width = self.spec["width"]
        cols = np.where(h == -(2**31), (2**31 - 1 - (width - 1)) % width, np.abs(h) % width)
        self.columns.update(zip(new, cols.tolist(), strict=True))
        if self.spec["alternate_sign"]:
            self.signs.update(zip(new, np.where(h >= 0, 1.0, -1.0).tolist(), strict=True))

    def features(
        self, texts: Sequence[str], targets: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, value) of every non-zero feature of the documents."""
        if self.kind == "target":
            found = [
                (i, j) for i, t in enumerate(targets) if (j := self.columns.get(t)) is not None
            ]
            return (
                np.array([i for i, _ in found], dtype=np.int64),
                np.array([j for _, j in found], dtype=np.int64) + self.offset,
                np.ones(len(found)),
            )
        # Count each document's n-grams (Counter counts in C), then look every distinct n-gram
        # of the batch up at once; a vocabulary gives each its own column, hashing may merge
        # several, whose counts are then summed per (row, column).
        if self.scope is not None:  # features.ScopeMarker before the vectorizer
            texts = mark_scopes(texts, **self.scope)
        grams = [Counter(self.analyze(t)) for t in texts]
        flat = list(chain.from_iterable(grams))
        n = len(flat)
        row = np.repeat(np.arange(len(texts)), [len(doc) for doc in grams])
        val = np.fromiter(chain.from_iterable(doc.values() for doc in grams), np.float64, n)
        if self.kind == "hash":
            self._hashed(flat)
            col = np.fromiter(map(self.columns.__getitem__, flat), np.int64, n)
            if self.spec["alternate_sign"]:
                val = val * np.fromiter(map(self.signs.__getitem__, flat), np.float64, n)
            width = self.spec["width"]
            keys, where = np.unique(row * width + col, return_inverse=True)
            val = np.bincount(where, weights=val, minlength=len(keys))
            row, col = keys // width, keys % width
        else:
            col = np.fromiter(map(self.columns.get, flat, repeat(-1)), np.int64, n)
            keep = col >= 0
            row, col, val = row[keep], col[keep], val[keep]
        if self.spec["binary"]:
            val[:] = 1.0
        if self.sublinear:
            val = np.log(val) + 1.0
        if self.idf is not None:
            val = val * self.idf[col]
        if self.norm is not None:
            per_row = np.abs(val) if self.norm == "l1" else val * val
            total = np.bincount(row, weights=per_row, minlength=len(texts))
            scale = np.sqrt(total) if self.norm == "l2" else total
            scale[scale == 0.0] = 1.0
            val = val / scale[row]
        return row, col + self.offset, val * self.spec["weight"]


class _Linear:
    """Feature blocks feeding a linear classifier with logistic or softmax probabilities."""

    def __init__(self, spec: Mapping[str, Any], arrays: Mapping[str, np.ndarray]):
        self.constant = spec.get("constant")
        if self.constant is not None:
            return
        self.blocks = [_Block(b, arrays) for b in spec["blocks"]]
        clf = spec["classifier"]
        self.classes = clf["classes"]
        self.link = clf["link"]
        self.coef = arrays[clf["coef"]]
        self.intercept = arrays[clf["intercept"]]
        self._check_shapes()

    def _check_shapes(self) -> None:
        """A copy whose arrays do not fit its spec would broadcast into wrong scores, silently:
        refuse it (the loader then falls back to the skops file)."""
        width = sum(int(b.spec["width"]) for b in self.blocks)
        rows = 1 if self.link == "logistic" and len(self.classes) == 2 else len(self.classes)
        if (
            self.coef.ndim != 2
            or self.coef.shape[1] != width
            or self.coef.shape[0] not in {rows, len(self.classes)}
        ):
            raise StancelabError(
                f"coefficients of shape {self.coef.shape} do not fit "
                f"{len(self.classes)} classes and {width} features"
            )
        if self.intercept.shape != (self.coef.shape[0],):
            raise StancelabError(
                f"intercept of shape {self.intercept.shape} does not fit "
                f"coefficients of shape {self.coef.shape}"
            )
        for block in self.blocks:
            size = int(block.spec["width"])
            if block.idf is not None and block.idf.shape != (size,):
                raise StancelabError(
                    f"idf weights of shape {block.idf.shape} do not fit a block of {size} columns"
                )
            if block.kind in ("vocab", "target") and len(block.columns) != size:
                raise StancelabError(f"a block of {size} columns lists {len(block.columns)} terms")

    def predict_proba(self, texts: Sequence[str], targets: Sequence[str]) -> np.ndarray:
        parts = [b.features(texts, targets) for b in self.blocks]
        row = np.concatenate([p[0] for p in parts])
        col = np.concatenate([p[1] for p in parts])
        val = np.concatenate([p[2] for p in parts])
        contrib = self.coef[:, col] * val
        scores = (
            np.stack([np.bincount(row, weights=c, minlength=len(texts)) for c in contrib], axis=1)
            + self.intercept
        )
        if self.link == "softmax":
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            return scores / scores.sum(axis=1, keepdims=True)
        prob = 1.0 / (1.0 + np.exp(-scores))
        if prob.shape[1] == 1:
            return np.hstack([1.0 - prob, prob])
        total = prob.sum(axis=1, keepdims=True)
        prob[total[:, 0] == 0.0] = 1.0
        return prob / prob.sum(axis=1, keepdims=True)


class LiteModel:
    """A stance model scored with NumPy alone; the same interface as a StanceClassifier's
    ``predict_proba``/``predict``, taking a DataFrame or a mapping of ``text``/``target`` lists.
    """

    def __init__(self, spec: Mapping[str, Any], arrays: Mapping[str, np.ndarray]):
        if spec.get("format") != FORMAT:
            raise StancelabError(f"lite model format {spec.get('format')!r} is not {FORMAT}")
        self.spec = spec
        self.classes_ = np.array(spec["classes"], dtype=object)
        self.targets_ = np.array(spec["targets"], dtype=object)
        self.per_target = spec["per_target"]
        self._models = {t: _Linear(m, arrays) for t, m in spec["models"].items()}
        self._column = {c: j for j, c in enumerate(spec["classes"])}

    def predict_proba(self, X: Any) -> np.ndarray:
        texts, targets = list(X["text"]), list(X["target"])
        if self.spec["known_targets_only"] or self.per_target:
            check_known_targets(targets, self.spec["targets"])
        out = np.zeros((len(texts), len(self.classes_)))
        groups: dict[str, list[int]] = {}
        if self.per_target:
            for i, target in enumerate(targets):
                groups.setdefault(target, []).append(i)
        else:
            groups["*"] = list(range(len(texts)))
        for key, rows in groups.items():
            model = self._models[key]
            if model.constant is not None:
                out[rows, self._column[model.constant]] = 1.0
                continue
            columns = [self._column[c] for c in model.classes]
            for start in range(0, len(rows), CHUNK):
                part = rows[start : start + CHUNK]
                out[np.ix_(part, columns)] = model.predict_proba(
                    [texts[i] for i in part], [targets[i] for i in part]
                )
        return out

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def load(path: Path) -> LiteModel:
    """Read a copy written by :func:`export` (no pickles: ``allow_pickle=False``)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise StancelabError(f"{path}: not a readable stancelab lite model ({err})") from None
    try:
        spec = json.loads(arrays.pop("spec").tobytes().decode("utf-8"))
        return LiteModel(spec, arrays)
    except StancelabError as err:
        raise StancelabError(f"{path}: unreadable lite copy ({err})") from None
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeDecodeError) as err:
        raise StancelabError(
            f"{path}: unreadable lite copy ({type(err).__name__}: {err})"
        ) from None


__all__ = [
    "LITE_FILE",
    "LiteModel",
    "NotExportable",
    "analyzer",
    "export",
    "load",
    "murmurhash3_32",
]
