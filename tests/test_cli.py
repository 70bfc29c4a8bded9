"""The ``stancelab`` command as a user runs it: real subprocesses, real files, real MLflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from conftest import FIXTURES, ROOT, fixture_overrides

SEED = ROOT / "seeds" / "articles" / "000_7c462d476a23d359.txt"


def stancelab(
    *args: str, cwd: Path, check: bool = True, tracking_uri: str | None = None
) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh process; only ``tracking_uri`` (not the parent's) reaches it."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update({"MLFLOW_DISABLE_TELEMETRY": "true", "HF_HUB_OFFLINE": "1"})
    if tracking_uri:
        env["MLFLOW_TRACKING_URI"] = tracking_uri
    proc = subprocess.run(
        [sys.executable, "-m", "stancelab", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """``stancelab train`` from the command line, as in the Quick start, on the fixture."""
    tmp = tmp_path_factory.mktemp("cli")
    proc = stancelab("train", *fixture_overrides(tmp), "tracking.register.enabled=true", cwd=tmp)
    lines = dict(
        line.split(None, 1)
        for line in proc.stdout.splitlines()
        if line.strip() and not line.startswith(" ")
    )
    return {
        "tmp": tmp,
        "stdout": proc.stdout,
        "uri": lines["model"].strip(),
        "run_id": lines["run"].strip(),
        "registered": lines["registered"].strip(),
    }


def test_train_prints_run_metrics_and_a_model_uri(cli_run):
    assert cli_run["uri"].startswith(("models:/", "runs:/"))
    assert "test_macro_f1" in cli_run["stdout"] and "test_f_avg" in cli_run["stdout"]
    assert cli_run["registered"] == "models:/stancelab-stance@candidate"
    client = MlflowClient(f"sqlite:///{cli_run['tmp'] / 'mlflow.db'}")
    run = client.get_run(cli_run["run_id"])
    assert run.data.params["choices.model"] == "logreg"


def test_predict_texts_prints_stance_and_scores(cli_run):
    tmp = cli_run["tmp"]
    proc = stancelab(
        "predict",
        "--model",
        cli_run["uri"],
        "Rome ruled out sending soldiers.",
        "Madrid may send trainers.",
        cwd=tmp,
        tracking_uri=f"sqlite:///{tmp}/mlflow.db",
    )
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["text"] for r in rows] == [
        "Rome ruled out sending soldiers.",
        "Madrid may send trainers.",
    ]
    assert all(r["stance"] in {"favor", "against", "none"} for r in rows)
    assert all(abs(r["favor"] + r["against"] + r["none"] - 1) < 1e-3 for r in rows)


@pytest.fixture(scope="module")
def model_folder(cli_run):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{cli_run['tmp'] / 'mlflow.db'}")
    return mlflow.artifacts.download_artifacts(cli_run["uri"], dst_path=str(cli_run["tmp"] / "m"))


def test_predict_files_in_and_out(model_folder, tmp_path):
    (tmp_path / "in.txt").write_text("Oslo may send troops.\n\nNo soldiers, said Rome.\n")
    (tmp_path / "in.jsonl").write_text(
        '{"text": "Freeze the assets.", "target": "sanctions on Russia", "ref": 7}\n'
    )
    (tmp_path / "in.csv").write_text("text,target\nSend trainers.,troop deployment to Ukraine\n")
    stancelab(
        "predict", "--model", model_folder, "--input", "in.txt", "--output", "o.csv", cwd=tmp_path
    )
    out = (tmp_path / "o.csv").read_text().splitlines()
    assert out[0] == "text,target,stance,favor,against,none" and len(out) == 3
    proc = stancelab("predict", "--model", model_folder, "--input", "in.jsonl", cwd=tmp_path)
    row = json.loads(proc.stdout)
    assert row["ref"] == 7 and row["target"] == "sanctions on Russia"
    stancelab(
        "predict", "--model", model_folder, "--input", "in.csv", "--output", "o.jsonl", cwd=tmp_path
    )
    assert json.loads((tmp_path / "o.jsonl").read_text())["text"] == "Send trainers."


def test_both_engines_write_the_same_predictions(model_folder, tmp_path):
    rows = [
        '{"text": "Oslo may send troops.", "ref": 1}',
        '{"text": "", "ref": 2}',
        '{"text": "Freeze the assets.", "target": "sanctions on Russia", "ref": 3}',
    ]
    (tmp_path / "in.jsonl").write_text("\n".join(rows) + "\n")
    outputs = {}
    for engine in ("lite", "sklearn"):
        for suffix in ("jsonl", "csv"):
            stancelab(
                "predict",
                "--model",
                model_folder,
                "--engine",
                engine,
                "--input",
                "in.jsonl",
                "--output",
                f"{engine}.{suffix}",
                cwd=tmp_path,
            )
            outputs[engine, suffix] = (tmp_path / f"{engine}.{suffix}").read_text()
    assert outputs["lite", "jsonl"] == outputs["sklearn", "jsonl"]
    assert outputs["lite", "csv"] == outputs["sklearn", "csv"]
    first = json.loads(outputs["lite", "jsonl"].splitlines()[1])
    assert first == {
        "ref": 2,
        "text": "",
        "target": "troop deployment to Ukraine",
        "stance": "none",
        "favor": 0.0,
        "against": 0.0,
        "none": 1.0,
    }


def test_predict_article_prints_sentences_and_a_summary(model_folder, tmp_path):
    proc = stancelab("predict", "--model", model_folder, "--article", str(SEED), cwd=tmp_path)
    lines = proc.stdout.splitlines()
    assert len([line for line in lines if line[:3].strip().isdigit()]) == 18
    assert lines[-1].startswith("summary  18 sentences toward 'troop deployment to Ukraine'")
    assert "ARTICLE AD BOX" not in proc.stdout


def test_evaluate_a_saved_model_on_an_annotated_file(model_folder, tmp_path):
    data = FIXTURES / "corpus" / "f05.jsonl"
    proc = stancelab(
        "evaluate", "--model", model_folder, "--data", str(data), "--json", cwd=tmp_path
    )
    metrics = json.loads(proc.stdout)
    assert metrics["n"] == 6 and 0 <= metrics["macro_f1"] <= 1 and "f_avg" in metrics


def test_bad_input_is_a_message_and_an_exit_code_not_a_traceback(model_folder, tmp_path):
    cases = [
        ("predict", "--model", str(tmp_path / "nope")),
        ("predict", "--model", model_folder, "--target", "climate", "Some text."),
        ("predict", "--model", model_folder, "--input", "missing.csv"),
        ("data", "validate", f"paths.seeds={FIXTURES / 'broken'}"),
        ("data", "build", "dataset.no_such_key=1"),
    ]
    (tmp_path / "bad.csv").write_text("sentence\nx\n")
    cases.append(("predict", "--model", model_folder, "--input", "bad.csv"))
    for args in cases:
        proc = stancelab(*args, cwd=tmp_path, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith("error: "), (args, proc.stderr)
        assert "Traceback" not in proc.stderr, args


def test_data_commands_share_the_training_config(tmp_path):
    overrides = [f"paths.seeds={FIXTURES}", f"paths.cache={tmp_path / 'c'}"]
    proc = stancelab("data", "validate", *overrides, cwd=tmp_path)
    assert proc.stdout.startswith("ok: 50 sentences")
    first = stancelab("data", "build", *overrides, cwd=tmp_path).stdout
    second = stancelab("data", "build", *overrides, cwd=tmp_path).stdout
    assert first.startswith("built ") and second.startswith("reused ")
    stats = json.loads(stancelab("data", "stats", "--json", *overrides, cwd=tmp_path).stdout)
    assert stats["documents"] == 8 and stats["sentences"] == 50
    assert stats["news_derived"]["real_dev"] == {"documents": 1, "sentences": 6}
    assert stats["per_target"]["sanctions on Russia"] == {"favor": 6, "against": 5, "none": 5}
    table = stancelab("data", "stats", *overrides, cwd=tmp_path).stdout
    assert "sentences per target × label" in table


def test_the_quick_exit_keeps_exit_handlers_and_profilers_working(tmp_path):
    """The CLI ends without interpreter teardown, but atexit work and cProfile still happen."""
    overrides = [f"paths.seeds={FIXTURES}", f"paths.cache={tmp_path / 'c'}"]
    out = tmp_path / "validate.prof"
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(out),
            "-m",
            "stancelab",
            "data",
            "validate",
            *overrides,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok: 50 sentences")
    assert out.stat().st_size > 0  # written by cProfile after the program ended
    script = (
        "import atexit, sys; from stancelab import cli; "
        "atexit.register(lambda: print('exit handler ran')); "
        "sys.argv = ['stancelab', 'data', 'segment', sys.argv[1]]; cli.run()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(SEED)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith("exit handler ran")


def test_segment_writes_a_file_ready_to_annotate(tmp_path):
    stancelab("data", "segment", str(SEED), "--output", "seed.jsonl", cwd=tmp_path)
    rows = [json.loads(x) for x in (tmp_path / "seed.jsonl").read_text().splitlines()]
    assert len(rows) == 18 and rows[0]["stance"] is None


def test_multirun_sweep_groups_runs_under_one_parent(tmp_path):
    proc = stancelab(
        "train",
        "-m",
        "model=logreg,complement_nb",
        "features=word,char",
        *fixture_overrides(tmp_path)[:3],
        "evaluation.bootstrap=0",
        "tracking.log_model=false",
        cwd=tmp_path,
    )
    assert "4 run(s), sorted by val_macro_f1" in proc.stdout
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.get_experiment_by_name("stancelab")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("stancelab.role") == "sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
    assert len(parents) == 1 and len(children) == 4
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert all(r.info.status == "FINISHED" for r in runs)
    assert {r.info.run_name for r in children} == {
        "logreg·word·joint",
        "logreg·char·joint",
        "complement_nb·word·joint",
        "complement_nb·char·joint",
    }
    assert "best_val_macro_f1" in parents[0].data.metrics


def test_parallel_sweep_with_the_joblib_launcher_loses_no_run(tmp_path):
    proc = stancelab(
        "train",
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "model=logreg,complement_nb",
        *fixture_overrides(tmp_path)[:3],
        "features=word",
        "evaluation.bootstrap=0",
        "evaluation.plots=false",
        "tracking.log_model=false",
        cwd=tmp_path,
    )
    assert "2 run(s), sorted by val_macro_f1" in proc.stdout
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.get_experiment_by_name("stancelab")
    children = [
        r for r in client.search_runs([exp.experiment_id]) if r.data.tags.get("mlflow.parentRunId")
    ]
    assert sorted(r.info.run_name for r in children) == [
        "complement_nb·word·joint",
        "logreg·word·joint",
    ]
    assert all(r.info.status == "FINISHED" for r in children)


def test_auto_engine_hands_long_inputs_to_scikit_learn(model_folder, monkeypatch, capsys):
    """Past ``LITE_MAX_ROWS`` sentences the pipeline's faster scoring beats the copy's start."""
    from stancelab import cli, inference

    engines = []
    real_load = inference.load

    def load(*args, **kwargs):
        engines.append(kwargs["engine"])
        return real_load(*args, **kwargs)

    monkeypatch.setattr(inference, "load", load)
    monkeypatch.setattr(cli, "LITE_MAX_ROWS", 2)
    for texts in (["Oslo may send troops."] * 2, ["Oslo may send troops."] * 3):
        assert cli.main(["predict", "--model", model_folder, *texts]) == 0
    assert engines == ["auto", "sklearn"]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and len({json.loads(line)["stance"] for line in lines}) == 1
