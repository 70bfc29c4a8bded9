"""The tracking process: runs logged from a second process, errors and deaths handled."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient

from conftest import ROOT
from stancelab.config import compose
from stancelab.errors import StancelabError
from stancelab.training import train


def statuses(uri: str) -> list[str]:
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("stancelab")
    return [r.info.status for r in client.search_runs([exp.experiment_id])] if exp else []


def test_one_worker_serves_runs_to_different_stores(overrides, tmp_path):
    first = [*overrides[:2], f"tracking.uri=sqlite:///{tmp_path / 'a.db'}", *overrides[3:]]
    second = [*overrides[:2], f"tracking.uri=sqlite:///{tmp_path / 'b.db'}", *overrides[3:]]
    a = train(compose([*first, "evaluation.plots=false"]))
    b = train(compose([*second, "evaluation.plots=false", "tracking.log_model=false"]))
    assert (
        MlflowClient(f"sqlite:///{tmp_path / 'a.db'}").get_run(a.run_id).info.status == "FINISHED"
    )
    run_b = MlflowClient(f"sqlite:///{tmp_path / 'b.db'}").get_run(b.run_id)
    assert run_b.info.status == "FINISHED" and b.model_uri is None
    assert "val_macro_f1" in run_b.data.metrics


def test_a_store_that_cannot_be_opened_is_an_error_not_a_hang(overrides, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    bad = [
        *overrides[:2],
        f"tracking.uri=sqlite:///{tmp_path / 'a-file' / 'mlflow.db'}",
        *overrides[3:],
    ]
    with pytest.raises(StancelabError) as caught:
        train(compose([*bad, "evaluation.plots=false"]))
    print(caught.value)
    assert "a-file" in str(caught.value) or "Error" in str(caught.value)
    # the next run in the same process is not affected by the failed one
    ok = train(compose([*overrides, "evaluation.plots=false", "tracking.log_model=false"]))
    assert statuses(overrides[2].split("=", 1)[1]) == ["FINISHED"] and ok.run_id


def test_training_imports_no_mlflow_and_a_dead_trainer_leaves_a_killed_run(overrides, tmp_path):
    uri = overrides[2].split("=", 1)[1]
    code = f"""
import sys
sys.path.insert(0, {str(ROOT / "tests")!r})
from stancelab.config import compose
from stancelab.training import train
result = train(compose({[*overrides, "evaluation.plots=false"]!r}))
assert "mlflow" not in sys.modules, "the training process imported MLflow"
print(result.run_id)
train(compose({[*overrides, "model._target_=support.ExitOnFit"]!r}))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 3, proc.stderr  # the second fit ended the process abruptly
    deadline = time.monotonic() + 60
    while sorted(statuses(uri)) != ["FINISHED", "KILLED"] and time.monotonic() < deadline:
        time.sleep(0.5)  # the worker notices its closed stdin and ends the run
    assert sorted(statuses(uri)) == ["FINISHED", "KILLED"]
    assert MlflowClient(uri).get_run(proc.stdout.strip()).info.status == "FINISHED"


def test_a_dead_tracking_process_is_an_error_and_the_next_run_gets_a_new_one(overrides):
    quick = [*overrides, "evaluation.plots=false", "tracking.log_model=false"]
    train(compose(quick))  # the store exists first: a kill while MLflow creates it breaks it
    with pytest.raises(StancelabError, match="tracking process has stopped"):
        train(compose([*overrides, "model._target_=support.KillTrackerOnFit"]))
    ok = train(compose(quick))
    assert MlflowClient(overrides[2].split("=", 1)[1]).get_run(ok.run_id).info.status == "FINISHED"
