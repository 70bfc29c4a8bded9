"""Bad inputs, as a careless or hostile user would give them: a clear, located message, the
right exit code (2: the input is wrong, 1: something failed at run time), no traceback, and
nothing half-written."""

from __future__ import annotations

import json
import shutil
import stat
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import fixture_overrides
from test_cli import stancelab

MAIN = "troop deployment to Ukraine"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A model folder as training logs it: skops file, lite copy and metadata."""
    from stancelab import persistence
    from stancelab.config import compose
    from stancelab.training import train

    tmp = tmp_path_factory.mktemp("hardening")
    result = train(compose([*fixture_overrides(tmp), "tracking=off"]))
    model = result.extras["model"]
    import pandas as pd

    check = pd.DataFrame(
        {"text": ["Rome ruled out troops.", "Oslo may send trainers."], "target": [MAIN, MAIN]}
    )
    folder = tmp / "model"
    persistence.save_folder(
        model, folder, {"default_target": MAIN, "labels": ["favor", "against", "none"]}, check
    )
    assert (folder / persistence.LITE_FILE).exists()
    return folder


def copy_model(model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model_dir, tmp_path / "m"))


def fails(proc, code: int, *fragments: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)


# --------------------------------------------------------------------------- inputs


def test_evaluate_on_a_file_without_records(model_dir, tmp_path):
    for content in ("", "   \n\n  \n"):
        data = tmp_path / "empty.jsonl"
        data.write_text(content)
        proc = stancelab(
            "evaluate", "--model", str(model_dir), "--data", str(data), cwd=tmp_path, check=False
        )
        fails(proc, 2, f"{data}: no annotated records to evaluate")


def test_evaluate_refuses_txt_whose_meaning_differs_from_predict(model_dir, tmp_path):
    data = tmp_path / "sentences.txt"
    data.write_text("Rome ruled out troops.\n")
    proc = stancelab(
        "evaluate", "--model", str(model_dir), "--data", str(data), cwd=tmp_path, check=False
    )
    fails(proc, 2, "a .txt file is one sentence a line, with no labels")


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_an_input_path_that_is_a_folder(model_dir, tmp_path, command):
    flag = "--input" if command == "predict" else "--data"
    proc = stancelab(
        command, "--model", str(model_dir), flag, str(tmp_path), cwd=tmp_path, check=False
    )
    fails(proc, 2, f"{tmp_path}: is a folder")


def test_jsonl_text_must_be_a_string(model_dir, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text('{"text": "fine"}\n{"text": 42}\n{"text": ["a", "b"]}\n{"text": {"x": 1}}\n')
    proc = stancelab(
        "predict", "--model", str(model_dir), "--input", str(data), cwd=tmp_path, check=False
    )
    fails(
        proc,
        2,
        f"{data}:2: field 'text': expected a string, got int",
        f"{data}:3: field 'text': expected a string, got list",
        f"{data}:4: field 'text': expected a string, got dict",
    )


@pytest.mark.parametrize("size", ["0", "-1", "many"])
def test_batch_size_must_be_positive(model_dir, tmp_path, size):
    proc = stancelab(
        "predict", "--model", str(model_dir), "--batch-size", size, "x", cwd=tmp_path, check=False
    )
    fails(proc, 2, "--batch-size")


def test_long_texts_are_cut_with_a_warning(model_dir, tmp_path):
    proc = stancelab("predict", "--model", str(model_dir), "word " * 3000, cwd=tmp_path)
    assert "1 text(s) longer than 5000 characters were cut" in proc.stderr


# --------------------------------------------------------------------------- outputs


def test_output_into_a_missing_folder(model_dir, tmp_path):
    out = tmp_path / "nowhere" / "out.csv"
    proc = stancelab(
        "predict", "--model", str(model_dir), "--output", str(out), "x", cwd=tmp_path, check=False
    )
    fails(proc, 2, f"the folder {out.parent} does not exist")


@pytest.mark.skipif(
    hasattr(__import__("os"), "geteuid") and __import__("os").geteuid() == 0,
    reason="root ignores file permissions",
)
def test_read_only_output_keeps_its_content(model_dir, tmp_path):  # pragma: no cover - root
    out = tmp_path / "out.jsonl"
    out.write_text("earlier\n")
    out.chmod(stat.S_IRUSR)
    proc = stancelab(
        "predict", "--model", str(model_dir), "--output", str(out), "x", cwd=tmp_path, check=False
    )
    fails(proc, 2, "read-only")
    assert out.read_text() == "earlier\n"


def test_a_failed_write_keeps_the_previous_file_whole(model_dir, tmp_path):
    """A row that fails midway (an unknown target) leaves the old output untouched."""
    out = tmp_path / "out.jsonl"
    out.write_text("earlier\n")
    data = tmp_path / "in.jsonl"
    data.write_text(
        json.dumps({"text": "fine", "target": MAIN})
        + "\n"
        + json.dumps({"text": "odd", "target": "no such target"})
        + "\n"
    )
    proc = stancelab(
        "predict",
        "--model",
        str(model_dir),
        "--engine",
        "sklearn",
        "--input",
        str(data),
        "--output",
        str(out),
        "--batch-size",
        "1",
        cwd=tmp_path,
        check=False,
    )
    fails(proc, 2, "no model for target(s) 'no such target'")
    assert out.read_text() == "earlier\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_a_lone_surrogate_round_trips_through_jsonl(model_dir, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text('{"text": "odd \\ud800 text"}\n')
    out = tmp_path / "out.jsonl"
    stancelab(
        "predict",
        "--model",
        str(model_dir),
        "--input",
        str(data),
        "--output",
        str(out),
        cwd=tmp_path,
    )
    assert json.loads(out.read_text())["text"] == "odd \ud800 text"


# --------------------------------------------------------------------------- model folders


def test_a_truncated_skops_file(model_dir, tmp_path):
    from stancelab import persistence

    folder = copy_model(model_dir, tmp_path)
    (folder / persistence.LITE_FILE).unlink()
    skops = folder / persistence.SKOPS_FILE
    skops.write_bytes(skops.read_bytes()[:2000])
    proc = stancelab("predict", "--model", str(folder), "x", cwd=tmp_path, check=False)
    fails(proc, 2, f"{skops}: damaged or not a skops model file")
    with pytest.raises(Exception, match="damaged or not a skops model file"):
        import stancelab as sl

        sl.load(str(folder))


def test_a_lite_copy_with_wrong_shapes_falls_back_under_auto(model_dir, tmp_path):
    from stancelab import persistence

    folder = copy_model(model_dir, tmp_path)
    lite = folder / persistence.LITE_FILE
    with np.load(lite, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    big = max((k for k in arrays if arrays[k].ndim == 2), key=lambda k: arrays[k].size)
    arrays[big] = arrays[big][:1]
    np.savez(lite, **arrays)
    proc = stancelab("predict", "--model", str(folder), "Rome ruled out troops.", cwd=tmp_path)
    assert json.loads(proc.stdout)["stance"] in {"favor", "against", "none"}
    assert "using the skops file instead" in proc.stderr
    proc = stancelab(
        "predict", "--model", str(folder), "--engine", "lite", "x", cwd=tmp_path, check=False
    )
    fails(proc, 2, str(lite))


def test_a_lite_spec_that_is_not_json(model_dir, tmp_path):
    from stancelab import persistence

    folder = copy_model(model_dir, tmp_path)
    lite = folder / persistence.LITE_FILE
    with np.load(lite, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["spec"] = np.frombuffer(b"{not json", dtype=np.uint8)
    np.savez(lite, **arrays)
    proc = stancelab(
        "predict", "--model", str(folder), "--engine", "lite", "x", cwd=tmp_path, check=False
    )
    fails(proc, 2, f"{lite}: unreadable lite copy")


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_metadata_that_is_not_a_json_object(model_dir, tmp_path, content):
    from stancelab import persistence

    folder = copy_model(model_dir, tmp_path)
    (folder / persistence.META_FILE).write_text(content)
    proc = stancelab("predict", "--model", str(folder), "x", cwd=tmp_path, check=False)
    fails(proc, 2, f"{folder / persistence.META_FILE}:")


def test_a_model_path_that_is_a_text_file(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    proc = stancelab("predict", "--model", str(text), "x", cwd=tmp_path, check=False)
    fails(proc, 2, f"{text} is a file but not a stancelab model")


def test_several_models_below_a_folder_are_named_not_picked(model_dir, tmp_path):
    shutil.copytree(model_dir, tmp_path / "a" / "model")
    shutil.copytree(model_dir, tmp_path / "b" / "model")
    proc = stancelab("predict", "--model", str(tmp_path), "x", cwd=tmp_path, check=False)
    fails(proc, 2, "holds 2 models", str(tmp_path / "a" / "model"), str(tmp_path / "b" / "model"))


def test_a_deep_folder_is_not_walked(tmp_path):
    start = time.perf_counter()
    proc = stancelab("predict", "--model", "/", "x", cwd=tmp_path, check=False)
    fails(proc, 2, "holds no stancelab model")
    assert time.perf_counter() - start < 60


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        ("token_pattern", r"(\w+\s?)+$", "token_pattern is a pattern stancelab will not run"),
        ("ngram_range", (1, 500), "ngram_range (1, 500)"),
    ],
)
def test_hostile_vectorizer_parameters_are_refused_on_load(
    model_dir, tmp_path, param, value, message
):
    from stancelab import persistence
    from stancelab.models import walk_estimators

    model = persistence.load(model_dir / persistence.SKOPS_FILE)
    vectorizer = next(e for e in walk_estimators(model) if hasattr(e, "vocabulary_"))
    setattr(vectorizer, param, value)
    folder = tmp_path / "hostile"
    folder.mkdir()
    persistence.save(model, folder / persistence.SKOPS_FILE)
    start = time.perf_counter()
    proc = stancelab("predict", "--model", str(folder), "a" * 40 + "!", cwd=tmp_path, check=False)
    fails(proc, 2, message)
    assert time.perf_counter() - start < 30


def test_a_zip_that_is_not_skops(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    with zipfile.ZipFile(folder / "stance_model.skops", "w") as zf:
        zf.writestr("hello.txt", "not a model")
    proc = stancelab("predict", "--model", str(folder), "x", cwd=tmp_path, check=False)
    fails(proc, 2, "damaged or not a skops model file")


# --------------------------------------------------------------------------- tracking


def test_an_unreachable_tracking_server_fails_in_seconds(tmp_path):
    for args in (["train", *fixture_overrides(tmp_path)[:2]], ["predict", "--model", "best", "x"]):
        start = time.perf_counter()
        proc = stancelab(*args, cwd=tmp_path, check=False, tracking_uri="http://127.0.0.1:9")
        fails(proc, 1, "the MLflow tracking server at http://127.0.0.1:9 cannot be reached")
        assert time.perf_counter() - start < 20
    assert not (tmp_path / "cache").exists()  # train stopped before building the dataset


@pytest.mark.slow
def test_several_runs_started_at_once_on_a_fresh_store_all_finish(tmp_path):
    import os
    import subprocess
    import sys

    from mlflow import MlflowClient

    store = f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "HF_HUB_OFFLINE": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    base = fixture_overrides(tmp_path)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stancelab",
                "train",
                *base[:2],
                f"tracking.uri={store}",
                "evaluation.bootstrap=0",
                f"seed={i}",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [err[-800:] for _, err in outputs]
    runs = MlflowClient(store).search_runs(
        [MlflowClient(store).get_experiment_by_name("stancelab").experiment_id]
    )
    assert len(runs) == 6 and {r.info.status for r in runs} == {"FINISHED"}
    assert all(r.data.tags.get("stancelab.model_uri") for r in runs)
