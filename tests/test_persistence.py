"""Model files: every configured model loads against stancelab's own trusted list, and the
fast skops import changes nothing for other users of skops in the same process."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from stancelab import persistence
from stancelab.config import compose
from stancelab.errors import UntrustedModelError
from stancelab.training import train

TEXTS = pd.DataFrame(
    {
        "text": ["Rome ruled out sending soldiers.", "Oslo may join a mission."],
        "target": ["troop deployment to Ukraine"] * 2,
    }
)


@pytest.mark.parametrize(
    "choice",
    [
        "model=linear_svm",
        "model=logreg",
        "model=sgd",
        "model=complement_nb",
        "model=mlp",
        "model=random_forest",
        "features=word",
        "features=char",
        "features=hashing",
        "target_mode=per_target",
    ],
)
def test_every_configured_model_loads_against_the_own_list_alone(choice, overrides, tmp_path):
    model = train(compose([*overrides, "tracking=off", "evaluation.plots=false", choice]))
    model = model.extras["model"]
    path = tmp_path / persistence.SKOPS_FILE
    persistence.save(model, path)
    assert persistence.untrusted_types(path) == []
    loaded = persistence.load(path)
    assert (loaded.predict_proba(TEXTS) == model.predict_proba(TEXTS)).all()


def test_a_scikit_learn_type_off_the_list_is_refused_by_name(tmp_path):
    from sklearn.dummy import DummyClassifier

    path = tmp_path / "dummy.skops"
    persistence.save(DummyClassifier().fit([[0], [1]], [0, 1]), path)
    name = "sklearn.dummy.DummyClassifier"
    assert persistence.untrusted_types(path) == [name]
    with pytest.raises(UntrustedModelError, match=name.replace(".", r"\.")):
        persistence.load(path)
    assert persistence.load(path, trust=[name]).predict([[1]])[0] == 0


def test_skops_is_imported_without_walking_scikit_learn_and_others_keep_its_defaults(tmp_path):
    """In a fresh process: the walk is skipped, yet skops' own default list is upstream's."""
    script = f"""
import sys
from stancelab import persistence
sio = persistence.skops_io()
assert "sklearn.gaussian_process" not in sys.modules, "the walk of scikit-learn ran"
assert "torch" not in sys.modules
from sklearn.dummy import DummyClassifier
path = {str(tmp_path / "plain.skops")!r}
sio.dump(DummyClassifier().fit([[0], [1]], [0, 1]), path)
assert sio.get_untrusted_types(file=path) == []  # skops' default trusts it, as upstream
assert sio.load(path).predict([[1]])[0] == 0
from sklearn.utils import all_estimators
from skops.io._general import SKLEARN_ESTIMATOR_TYPE_NAMES as names
from skops.io._utils import get_type_name
upstream = [get_type_name(c) for _, c in all_estimators()]
assert list(names) == [n for n in upstream if n.startswith("sklearn.")]
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
