"""The fitted model on disk: the one owner of the model folder and its files.

A model folder holds ``stance_model.skops`` (the fitted pipeline, written and read without
unpickling anything), ``stance_model.lite.npz`` (its NumPy-only copy, when it has one) and
``stancelab.json`` (labels, targets, default target). :func:`save_folder` writes one (training
logs it to MLflow under ``ARTIFACT_KEY``); :func:`load_folder` finds and reads one, distrusting
everything in it: a damaged file, a copy with the wrong shapes or a spec that is not JSON is a
clear error (or, for the copy, a fallback to the skops file), and a model whose parameters could
make scoring hang (a catastrophic ``token_pattern``, an absurd ``ngram_range``) is refused.

About skops itself:

skops keeps a default list of trusted types, and it builds that list's scikit-learn part when
``skops.io`` is first imported, by importing every module of scikit-learn (and torch, when it is
installed): 4-6 s, which was most of a cold ``stancelab predict`` and of a run's "log model"
step. stancelab imports skops without that walk and puts a lazy stand-in in place of the list:

* stancelab's own loads do not consult it at all: a model is checked against
  :data:`TRUSTED_TYPES`, a list owned here (never one stored in the model), plus whatever the
  caller trusts explicitly;
* any other code in the process that loads with skops' defaults gets exactly upstream's list,
  computed (with the walk) the first time it is needed.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stancelab.errors import ModelNotFoundError, StancelabError, UntrustedModelError

SKOPS_FILE = "stance_model.skops"
LITE_FILE = "stance_model.lite.npz"  # its NumPy-only copy, when it has one (stancelab.lite)
META_FILE = "stancelab.json"
ARTIFACT_KEY = "stance_model"  # the folder's name inside a logged MLflow model
MAX_SEARCH_DEPTH = 3  # folders below --model searched for a model (never a whole disk)
MAX_NGRAM = 10  # longest n-gram a loaded vectorizer may ask for
MAX_PATTERN = 200  # longest token pattern a loaded vectorizer may carry

#: Every non-primitive type a model built from stancelab's configurations contains. Loading
#: refuses anything else unless trusted explicitly. tests/test_persistence.py trains every
#: ``model`` and ``features`` option and checks that each loads against this list alone.
TRUSTED_TYPES: tuple[str, ...] = (
    "stancelab.models.StanceClassifier",
    "stancelab.models.Blend",
    "stancelab.embeddings.SentenceEncoder",
    "stancelab.finetune.FineTunedEncoder",
    "stancelab.features.ScopeMarker",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.feature_extraction.text.CountVectorizer",
    "sklearn.feature_extraction.text.HashingVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._stochastic_gradient.SGDClassifier",
    "sklearn.naive_bayes.ComplementNB",
    "sklearn.neural_network._multilayer_perceptron.MLPClassifier",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    # ColumnTransformer's "passthrough" (features=raw) stores one with func=None; a function
    # inside one would be a type of its own, refused unless trusted.
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
    "sklearn.preprocessing._label.LabelBinarizer",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.svm._classes.LinearSVC",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._tree.Tree",
)

_OWN_LOAD: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "stancelab_own_load", default=False
)


class _EstimatorNames(Sequence):
    """Stands in for skops' default list of scikit-learn estimator names.

    skops reads the list as ``names + other`` each time it checks an object. During stancelab's
    own loads that gives ``other`` alone; otherwise the full list, computed once with the walk
    skops would have made at import.
    """

    def __init__(self, names: list[str] | None = None):
        self._names = names

    def _all(self) -> list[str]:
        if self._names is None:
            from sklearn.utils import all_estimators

            from stancelab._compat import skops_type_name

            names = (skops_type_name(cls) for _, cls in all_estimators())
            self._names = [n for n in names if n.startswith("sklearn.")]
        return self._names

    def __getitem__(self, index):  # type: ignore[override]
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __add__(self, other: Iterable[str]) -> list[str]:
        return list(other) if _OWN_LOAD.get() else self._all() + list(other)

    def __radd__(self, other: Iterable[str]) -> list[str]:
        return list(other) if _OWN_LOAD.get() else list(other) + self._all()


def skops_io() -> Any:
    """Import ``skops.io`` (without its import-time walk of scikit-learn) and return it."""
    from stancelab import _compat

    sio = _compat.import_skops_without_walk()
    lists = _compat.skops_name_lists()
    current = lists[0][1] if lists else None
    if isinstance(current, list):  # first call: empty if the walk was skipped, else complete
        _compat.set_skops_name_list(_EstimatorNames(current or None))
    return sio


def save(model: Any, path: str | Path) -> None:
    """Write ``model`` as a skops file."""
    skops_io().dump(model, str(path))


@contextmanager
def _own_load() -> Iterator[None]:
    """Within the block, skops' default list adds nothing: TRUSTED_TYPES (and ``trust``) decide."""
    token = _OWN_LOAD.set(True)
    try:
        yield
    finally:
        _OWN_LOAD.reset(token)


def load(path: str | Path, trust: Iterable[str] = ()) -> Any:
    """Load a skops file, refusing types that are neither on TRUSTED_TYPES nor in ``trust``."""
    sio = skops_io()
    from skops.io.exceptions import UntrustedTypesFoundException

    with _own_load():
        try:
            return sio.load(str(path), trusted=sorted(set(TRUSTED_TYPES) | set(trust)))
        except UntrustedTypesFoundException:
            pass
    raise UntrustedModelError(
        f"refusing to load {path}: it contains type(s) not on stancelab's trusted list: "
        f"{', '.join(untrusted_types(path, trust))}. If you know where this model comes from, "
        "trust them explicitly (stancelab.load(uri, trust=[...]) or --trust TYPE)."
    )


def untrusted_types(path: str | Path, trust: Iterable[str] = ()) -> list[str]:
    """Types in a skops file that stancelab would refuse (what ``trust=`` would have to list)."""
    allowed = set(TRUSTED_TYPES) | set(trust)
    with _own_load():
        return [t for t in skops_io().get_untrusted_types(file=str(path)) if t not in allowed]


# --------------------------------------------------------------------------- the model folder


def save_folder(model: Any, folder: Path, meta: dict[str, Any], check: Any = None) -> None:
    """Write a model folder: the skops file, the lite copy when the model has one (checked on
    ``check``), and the metadata. A lite export that fails in any way only means no copy."""
    import json
    import logging

    folder.mkdir(parents=True, exist_ok=True)
    save(model, folder / SKOPS_FILE)
    if check is not None:
        from stancelab import lite

        try:
            lite.export(model, folder / LITE_FILE, check=check)
        except lite.NotExportable as err:
            logging.getLogger(__name__).info("no lite copy of the model: %s", err)
        except Exception as err:
            (folder / LITE_FILE).unlink(missing_ok=True)
            logging.getLogger(__name__).warning(
                "no lite copy of the model: the export failed unexpectedly (%s: %s)",
                type(err).__name__,
                err,
            )
    (folder / META_FILE).write_text(json.dumps(dict(meta), indent=2), encoding="utf-8")


def find_model_file(path: Path) -> Path:
    """The skops file that ``path`` names: the file itself, or the one model in the folder
    (searched ``MAX_SEARCH_DEPTH`` levels down). Several models below a folder is an error
    naming them: picking one silently would predict with the wrong model."""
    if path.is_file():
        if path.suffix != ".skops":
            raise ModelNotFoundError(
                f"{path} is a file but not a stancelab model (expected a "
                f"model folder or a .skops file)"
            )
        return path
    found: list[Path] = []
    level = [path]
    for _ in range(MAX_SEARCH_DEPTH + 1):
        found += [d / SKOPS_FILE for d in level if (d / SKOPS_FILE).is_file()]
        if found:
            break
        level = [c for d in level for c in _subfolders(d)]
    if not found:
        raise ModelNotFoundError(
            f"{path} holds no stancelab model ({SKOPS_FILE} not found "
            f"within {MAX_SEARCH_DEPTH} folder levels)"
        )
    if len(found) > 1:
        names = ", ".join(str(f.parent) for f in found[:5])
        raise ModelNotFoundError(
            f"{path} holds {len(found)} models ({names}"
            f"{', ...' if len(found) > 5 else ''}); name one of them"
        )
    return found[0]


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:  # unreadable folders are skipped, not fatal
        return []


def read_meta(folder: Path) -> dict[str, Any]:
    """The folder's metadata ({} for models saved without it)."""
    import json

    file = folder / META_FILE
    if not file.exists():
        return {}
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelNotFoundError(f"{file}: not valid JSON ({err})") from None
    if not isinstance(meta, dict):
        raise ModelNotFoundError(f"{file}: expected a JSON object, found {type(meta).__name__}")
    return meta


def load_folder(
    path: Path,
    trust: Iterable[str] = (),
    engine: str = "sklearn",
) -> tuple[Any, dict[str, Any]]:
    """The model and metadata of a model folder (or a .skops file).

    ``engine``: ``sklearn`` reads the skops file; ``lite`` the NumPy-only copy; ``auto`` the
    copy when there is one and it reads and scores cleanly, else the skops file.
    """
    import logging

    skops_file = find_model_file(path)
    meta = read_meta(skops_file.parent)
    lite_file = skops_file.parent / LITE_FILE
    if engine == "lite" and not lite_file.exists():
        raise ModelNotFoundError(
            f"{lite_file}: this model has no lite copy (its parts are not "
            "all linear; use engine=sklearn)"
        )
    if engine == "lite" or (engine == "auto" and lite_file.exists() and not list(trust)):
        try:
            return _probed(_load_lite(lite_file), lite_file, meta), meta
        except StancelabError as err:
            if engine == "lite":
                raise
            logging.getLogger(__name__).warning("%s; using the skops file instead", err)
    try:
        model = load(skops_file, trust)
    except StancelabError:
        raise
    except Exception as err:
        raise ModelNotFoundError(
            f"{skops_file}: damaged or not a skops model file ({type(err).__name__}: {err})"
        ) from None
    check_parameters(model, skops_file)
    return _probed(model, skops_file, meta), meta


def _load_lite(file: Path) -> Any:
    from stancelab import lite

    try:
        model = lite.load(file)
        check_lite_spec(model.spec, file)
        return model
    except StancelabError:
        raise
    except Exception as err:
        raise StancelabError(
            f"{file}: unreadable lite copy ({type(err).__name__}: {err})"
        ) from None


def _probed(model: Any, file: Path, meta: dict[str, Any]) -> Any:
    """Score one short sentence: a model whose parts do not fit together (wrong shapes, a
    foreign object) fails here, with a message naming its file, not on the user's data."""
    if not hasattr(model, "predict_proba") or not hasattr(model, "classes_"):
        raise ModelNotFoundError(f"{file}: holds a {type(model).__name__}, not a stancelab model")
    targets = [str(t) for t in getattr(model, "targets_", [])] or [meta.get("default_target")]
    try:
        proba = model.predict_proba({"text": ["Ministers met on Monday."], "target": [targets[0]]})
        if len(proba) != 1 or len(proba[0]) != len(model.classes_):
            raise ValueError(
                f"{len(proba[0]) if len(proba) else 0} scores for {len(model.classes_)} labels"
            )
    except StancelabError:
        raise
    except Exception as err:
        raise StancelabError(
            f"{file}: the model does not score a test sentence ({type(err).__name__}: {err})"
        ) from None
    return model


_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*](?:[^()\\]|\\.)*\)\s*[+*{]")


def check_parameters(model: Any, file: Path) -> None:
    """Refuse vectorizer settings that would make scoring one sentence hang or eat memory."""
    from stancelab.models import walk_estimators

    for est in walk_estimators(model):
        name = type(est).__name__
        if getattr(est, "ngram_range", None) is not None:
            _check_ngram(est.ngram_range, f"{file}: {name}")
        for attr in ("token_pattern", "negation", "report", "clause_end"):
            value = getattr(est, attr, None)
            # A token_pattern must be a string; the scope marker's cues only matter if set.
            if value is not None and (attr == "token_pattern" or isinstance(value, str)):
                _check_pattern(value, f"{file}: {name}'s {attr}")


def check_lite_spec(spec: dict[str, Any], file: Path) -> None:
    """The same checks on a NumPy-only copy's spec (its analyzers and scope markers)."""
    for model in spec.get("models", {}).values():
        for block in model.get("blocks", []):
            analyzer = block.get("analyzer") or {}
            if "ngram_range" in analyzer:
                _check_ngram(tuple(analyzer["ngram_range"]), f"{file}: a feature block")
            if analyzer.get("token_pattern") is not None:
                _check_pattern(analyzer["token_pattern"], f"{file}: a feature block's pattern")
            for attr, value in (block.get("scope") or {}).items():
                if attr != "max_words":
                    _check_pattern(value, f"{file}: a scope marker's {attr}")


def _check_ngram(low_high: Any, where: str) -> None:
    ok = (
        isinstance(low_high, tuple | list)
        and len(low_high) == 2
        and all(isinstance(n, int) for n in low_high)
        and 1 <= low_high[0] <= low_high[1] <= MAX_NGRAM
    )
    if not ok:
        raise UntrustedModelError(
            f"{where} asks for ngram_range {low_high!r}; allowed: 1 <= low <= high <= {MAX_NGRAM}"
        )


def _check_pattern(pattern: Any, where: str) -> None:
    bad = (
        not isinstance(pattern, str)
        or len(pattern) > MAX_PATTERN
        or _NESTED_QUANTIFIER.search(pattern) is not None
    )
    if not bad:
        try:
            re.compile(pattern)
        except re.error:
            bad = True
    if bad:
        raise UntrustedModelError(
            f"{where} is a pattern stancelab will not run ({str(pattern)[:60]!r}: too long, "
            "not a regular expression, or with nested repetition that can take exponential "
            "time)"
        )
