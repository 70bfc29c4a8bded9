"""Every use of another library's private API, fenced in one place.

Each function below reaches into something a library does not promise to keep (an underscore
module, function or attribute). Each says why stancelab needs it and what happens when it
goes; ``tests/test_compat.py`` exercises each against the installed versions, so that an
upgrade that removes one fails there, loudly, instead of somewhere downstream.
"""

from __future__ import annotations

import re
import sys
from typing import Any

# --------------------------------------------------------------------------- scikit-learn


def invalid_parameter(estimator: Any) -> tuple[str, str] | None:
    """``(parameter, what is allowed)`` when scikit-learn's own checks reject a parameter.

    Why: scikit-learn validates parameters only in ``fit``, after the dataset is built and
    read. ``BaseEstimator._validate_params`` runs the same checks on an unfitted estimator, so
    the config boundary (stancelab.schema) can reject ``model.C=-1`` before any data is read.
    Estimators without it (stancelab's own, older ones) are not checked here.
    """
    check = getattr(estimator, "_validate_params", None)
    if check is None or not getattr(estimator, "_parameter_constraints", None):
        return None
    from sklearn.utils._param_validation import InvalidParameterError

    try:
        check()
    except InvalidParameterError as err:
        text = str(err)
        match = re.match(
            r"The '([^']+)' parameter of \w+ (must be .*?)\. Got .* instead\.?$", text, re.S
        )
        if match:
            return match.group(1), match.group(2)
        return "?", text
    return None


# --------------------------------------------------------------------------- skops


def skops_type_name(obj: Any) -> str:
    """The dotted name skops records for a type (what a trusted list must contain).

    Why: skops' ``get_type_name`` is how skops itself names types in files and in its trusted
    lists; computing it any other way could disagree with what loading checks.
    """
    from skops.io._utils import get_type_name

    return get_type_name(obj)


#: Modules of skops that hold the list of scikit-learn estimator names they trust by default.
SKOPS_NAME_LIST_MODULES = ("skops.io._trusted_types", "skops.io._general")
SKOPS_NAME_LIST = "SKLEARN_ESTIMATOR_TYPE_NAMES"


def import_skops_without_walk() -> Any:
    """Import ``skops.io`` without the walk over all of scikit-learn it makes at import.

    Why: at import skops calls ``sklearn.utils.all_estimators()``, importing every module of
    scikit-learn (and torch when installed), 4-6 s of a cold ``stancelab predict``. The walk
    only fills skops' default trusted list, which stancelab's own loads never consult; it is
    replaced by a lazy stand-in (see stancelab.persistence) that computes the same list the
    first time other code needs it.
    """
    if "skops.io" not in sys.modules:
        import sklearn.utils

        walk = sklearn.utils.all_estimators
        sklearn.utils.all_estimators = lambda type_filter=None: []
        try:
            import skops.io  # noqa: F401  (imported for its side effect, under the patch)
        finally:
            sklearn.utils.all_estimators = walk
    import skops.io as sio

    return sio


def skops_name_lists() -> list[tuple[Any, Any]]:
    """``(module, its current list)`` for each skops module holding the estimator names."""
    out = []
    for name in SKOPS_NAME_LIST_MODULES:
        module = sys.modules.get(name)
        if module is not None and hasattr(module, SKOPS_NAME_LIST):
            out.append((module, getattr(module, SKOPS_NAME_LIST)))
    return out


def set_skops_name_list(names: Any) -> None:
    for module, _ in skops_name_lists():
        setattr(module, SKOPS_NAME_LIST, names)


# --------------------------------------------------------------------------- MLflow


def warm_mlflow_requirements() -> None:
    """Index installed packages for MLflow's requirement inference ahead of ``log_model``.

    Why: MLflow builds this index lazily inside ``log_model``; building it while the model is
    still being fitted takes ~0.5 s off a tracked run. Only a speed-up: any failure is ignored.
    """
    try:
        from mlflow.utils.requirements_utils import _init_packages_to_modules_map

        _init_packages_to_modules_map()
    except Exception:
        pass


# --------------------------------------------------------------------------- the interpreter


def run_exit_handlers() -> None:
    """Run the functions registered with :mod:`atexit` now.

    Why: the CLI ends with ``os._exit`` to skip the interpreter's slow teardown, which would
    also skip exit handlers (MLflow's, logging's, a sweep's parent run). ``atexit`` has no
    public way to run them early.
    """
    import atexit

    atexit._run_exitfuncs()
