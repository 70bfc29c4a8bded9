"""The fitted model on disk: a skops file, written and read without unpickling anything.

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
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stancelab.errors import UntrustedModelError

SKOPS_FILE = "stance_model.skops"
LITE_FILE = "stance_model.lite.npz"  # its NumPy-only copy, when it has one (stancelab.lite)

#: Every non-primitive type a model built from stancelab's configurations contains. Loading
#: refuses anything else unless trusted explicitly. tests/test_persistence.py trains every
#: ``model`` and ``features`` option and checks that each loads against this list alone.
TRUSTED_TYPES: tuple[str, ...] = (
    "stancelab.models.StanceClassifier",
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

_OWN_LOAD: contextvars.ContextVar[bool] = contextvars.ContextVar("stancelab_own_load",
                                                                 default=False)


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
        "trust them explicitly (stancelab.load(uri, trust=[...]) or --trust TYPE).")


def untrusted_types(path: str | Path, trust: Iterable[str] = ()) -> list[str]:
    """Types in a skops file that stancelab would refuse (what ``trust=`` would have to list)."""
    allowed = set(TRUSTED_TYPES) | set(trust)
    with _own_load():
        return [t for t in skops_io().get_untrusted_types(file=str(path)) if t not in allowed]
