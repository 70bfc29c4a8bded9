"""Each private API stancelab uses (stancelab._compat) still works on the installed versions.

These tests are the alarm for library upgrades: when one fails, the function it names needs a
new way to do its job, and the failure says which library moved.
"""

from __future__ import annotations

import subprocess
import sys

from sklearn.linear_model import LogisticRegression

from stancelab import _compat


def test_scikit_learn_checks_parameters_without_data():
    assert _compat.invalid_parameter(LogisticRegression()) is None
    param, allowed = _compat.invalid_parameter(LogisticRegression(C=-1.0))
    assert param == "C" and allowed == "must be a float in the range (0.0, inf]"
    assert _compat.invalid_parameter(object()) is None  # not an estimator: nothing to check


def test_skops_names_types_as_its_files_do(tmp_path):
    from stancelab import persistence
    from stancelab.models import StanceClassifier

    assert _compat.skops_type_name(LogisticRegression) == (
        "sklearn.linear_model._logistic.LogisticRegression"
    )
    persistence.save(StanceClassifier(), tmp_path / "m.skops")
    names = persistence.skops_io().get_untrusted_types(file=str(tmp_path / "m.skops"))
    assert _compat.skops_type_name(StanceClassifier) == "stancelab.models.StanceClassifier"
    assert names == ["stancelab.models.StanceClassifier"]


def test_skops_imports_without_walking_scikit_learn_and_keeps_its_name_lists():
    code = (
        "import sys, sklearn.utils\n"
        "calls = []\n"
        "real = sklearn.utils.all_estimators\n"
        "sklearn.utils.all_estimators = lambda *a, **k: calls.append(1) or real(*a, **k)\n"
        "from stancelab import _compat\n"
        "_compat.import_skops_without_walk()\n"
        "lists = _compat.skops_name_lists()\n"
        "assert calls == [], calls\n"
        "assert len(lists) >= 1 and all(isinstance(v, list) for _, v in lists), lists\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "ok", proc.stderr


def test_mlflow_requirements_index_warms_without_error():
    _compat.warm_mlflow_requirements()  # silent by design; it must at least import and run
    from mlflow.utils import requirements_utils

    assert hasattr(requirements_utils, "_init_packages_to_modules_map")


def test_exit_handlers_can_be_run_early():
    code = (
        "import atexit\n"
        "from stancelab._compat import run_exit_handlers\n"
        "atexit.register(lambda: print('handler ran'))\n"
        "run_exit_handlers()\n"
        "import os; os._exit(0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "handler ran"


def test_lite_export_turns_any_failure_into_no_copy(tmp_path, monkeypatch, caplog):
    """A library change inside the export must never fail a tracked run."""
    import pandas as pd

    from stancelab import lite, persistence
    from stancelab.features import tfidf
    from stancelab.models import StanceClassifier, make_pipeline

    X = pd.DataFrame({"text": ["alpha beta", "gamma delta", "epsilon"], "target": ["t"] * 3})
    model = StanceClassifier(make_pipeline(tfidf(), LogisticRegression())).fit(
        X, ["favor", "against", "none"]
    )

    def broken(*args, **kwargs):
        raise AttributeError("a private attribute moved")

    monkeypatch.setattr(lite, "export", broken)
    persistence.save_folder(model, tmp_path / "m", {}, check=X)
    assert not (tmp_path / "m" / persistence.LITE_FILE).exists()
    assert (tmp_path / "m" / persistence.SKOPS_FILE).exists()
    assert "the export failed unexpectedly (AttributeError" in caplog.text
