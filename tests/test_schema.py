"""The config boundary: every mistake named by key, value and origin, before any work."""

from __future__ import annotations

import pytest

from conftest import fixture_overrides
from stancelab.config import compose
from stancelab.schema import ConfigError, validate
from test_cli import stancelab


def problems(overrides: list[str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        compose(overrides)
    return caught.value.problems


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model.C=abc", "model.C = 'abc': must be a float in the range (0.0, inf]"),
        ("model.C=-1", "model.C = -1: must be a float in the range (0.0, inf]"),
        ("model.max_iter=-1", "model.max_iter = -1: must be an int in the range [0, inf)"),
        ("seed=abc", "seed = 'abc': Input should be a valid integer"),
        ("seed=-1", "seed = -1: Input should be greater than or equal to 0"),
        ("seed=4294967296", "seed = 4294967296: Input should be less than or equal to 4294967295"),
        ("target_mode=jiont", "target_mode = 'jiont': Input should be 'joint', 'per_target' or"),
        ("cv_folds=1", "cv_folds = 1: cross-validation needs 2 or more folds"),
        ("dataset.aggregation.tie=dorp", "dataset.aggregation.tie = 'dorp': must be 'drop' or one"),
        (
            "+dataset.sources.0.delimter=x",
            "dataset.sources.0.delimter = 'x': the stancelab reader "
            "has no such option; its options: column_map, defaults",
        ),
        ("dataset.sources.0.format=xml", "dataset.sources.0.format = 'xml': must be one of: hf,"),
        ("dataset.sources.0.paths=[]", "dataset.sources.0.paths: is empty"),
        ('dataset.text.residue=["("]', "dataset.text.residue: '(' is not a regular expression"),
        ("dataset.text.min_chars=-2", "dataset.text.min_chars = -2: Input should be greater"),
        ("dataset.split.ratios.test=0.5", "dataset.split.ratios: ratios add up to 1.4"),
        (
            "dataset.dedup.exact=maybe",
            "dataset.dedup.exact = 'maybe': Input should be a valid bool",
        ),
        ("+dataset.label_map.PRO=yes", "dataset.label_map.PRO = 'yes': maps to a label not among"),
        ("dataset.max_problems=0", "dataset.max_problems = 0: Input should be greater than or"),
        ("evaluation.bootstrap=-3", "evaluation.bootstrap = -3: Input should be greater than"),
        ("evaluation.primary_metric=f1", "evaluation.primary_metric = 'f1': Input should be"),
        ("tracking.lite.check_rows=0", "tracking.lite.check_rows = 0: Input should be greater"),
        ("tracking.register.name=", "tracking.register.name = '': String should have at least 1"),
        ("+model.colour=red", "model.colour: LogisticRegression.__init__() got an unexpected"),
        (
            "features._args_.0.min_df=-1",
            "features._args_.0.min_df = -1: must be a float in the "
            "range [0.0, 1.0] or an int in the range [1, inf)",
        ),
    ],
)
def test_each_mistake_is_one_located_message(override, expected):
    found = problems([override])
    assert len(found) == 1, found
    assert f"(override '{override}')" in found[0]
    if expected:
        assert found[0].startswith(expected), found[0]


def test_every_mistake_is_listed_at_once_and_files_are_named():
    found = problems(["model.C=-1", "evaluation.bootstrap=-1", "target_mode=x"])
    # The section checks run first; estimators are built only on a config that passed them.
    assert [p.split(" ", 1)[0] for p in found] == ["target_mode", "evaluation.bootstrap"]
    found = problems(["dataset=csv"])
    assert found[0].startswith("dataset.path: has no value; set it, e.g. dataset.path=... (")
    assert found[0].endswith("conf/dataset/csv.yaml, picked by 'dataset=csv')")


def test_values_set_in_files_name_the_file(tmp_path):
    (tmp_path / "model").mkdir(parents=True)
    import shutil

    from stancelab.config import conf_dir

    shutil.copytree(conf_dir(), tmp_path / "conf", dirs_exist_ok=True)
    (tmp_path / "conf" / "model" / "bad.yaml").write_text(
        "_target_: sklearn.linear_model.LogisticRegression\nC: -5.0\n"
    )
    import os

    os.environ["STANCELAB_CONFIG_DIR"] = str(tmp_path / "conf")
    try:
        found = problems(["model=bad"])
    finally:
        del os.environ["STANCELAB_CONFIG_DIR"]
    assert found[0].startswith("model.C = -5.0: must be a float")
    assert found[0].endswith("(conf/model/bad.yaml, picked by 'model=bad')")  # cwd-relative


def test_every_shipped_option_passes():
    for overrides in (
        [],
        ["experiment=semeval2016"],
        ["experiment=ibm_claim_stance"],
        ["experiment=corpus_default"],
        ["experiment=large_scale"],
        ["hparams_search=logreg"],
        ["hparams_search=linear_svm"],
        ["tracking=off"],
        ["dataset=csv", "dataset.path=x.csv"],
        ["dataset=hf", "dataset.hub_name=x"],
        ["dataset=jsonl", "dataset.path=x"],
        ["dataset=label_studio", "dataset.path=x"],
        ["dataset=doccano", "dataset.path=x"],
        *(
            ["model=" + m]
            for m in ("complement_nb", "linear_svm", "logreg", "mlp", "random_forest", "sgd")
        ),
        *(
            ["features=" + f]
            for f in (
                "char",
                "hashing",
                "word",
                "word_char",
                "word_char_scope",
                "minilm",
                "word_char_minilm",
                "raw",
            )
        ),
    ):
        validate(compose(overrides), overrides)


def test_the_cli_stops_before_any_work_with_exit_2_and_no_traceback(tmp_path):
    base = fixture_overrides(tmp_path)
    proc = stancelab("train", *base, "model.C=-1", cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert (
        "model.C = -1: must be a float in the range (0.0, inf] (override 'model.C=-1')"
        in proc.stderr
    )
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "cache").exists()  # no dataset was built
    assert not (tmp_path / "mlflow.db").exists()  # no run was opened
    proc = stancelab("data", "build", *base[:2], "seed=abc", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "seed = 'abc'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_debug_shows_the_stack(tmp_path):
    proc = stancelab("--debug", "data", "validate", "seed=-1", cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "ConfigError" in proc.stderr


def test_a_wrong_field_does_not_hide_a_cross_field_mistake():
    found = problems(["seed=abc", "dataset.aggregation.tie=dorp"])
    assert [p.split(" ", 1)[0] for p in found] == ["seed", "dataset.aggregation.tie"]
