"""Shared fixtures: an isolated environment, the fixture corpus, and one trained model.

Every test runs with MLflow telemetry off, the Hugging Face hub offline, caches in a temporary
folder and no inherited ``MLFLOW_TRACKING_URI``; tracking goes to a SQLite file in ``tmp_path``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parents[1]
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.pop("MLFLOW_TRACKING_URI", None)
sys.path.insert(0, str(Path(__file__).parent))  # for tests/support.py


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory, tmp_path, monkeypatch):
    """Caches and run outputs (MLflow's ./mlruns, Hydra's ./outputs) stay out of the checkout."""
    cache = tmp_path_factory.getbasetemp() / "hf-cache"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    monkeypatch.setenv("HF_HOME", str(cache))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)


def fixture_overrides(tmp: Path) -> list[str]:
    """Overrides that point the default config at the fixture corpus and ``tmp``."""
    return [
        f"paths.seeds={FIXTURES}",
        f"paths.cache={tmp / 'cache'}",
        f"tracking.uri=sqlite:///{tmp / 'mlflow.db'}",
        "evaluation.bootstrap=50",
        "model=logreg",
        "features=word",
    ]


@pytest.fixture
def overrides(tmp_path) -> list[str]:
    return fixture_overrides(tmp_path)


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """One model trained on the fixture corpus and logged to MLflow, shared by many tests."""
    import mlflow

    from stancelab.config import compose
    from stancelab.training import train

    tmp = tmp_path_factory.mktemp("trained")
    os.chdir(tmp)  # MLflow puts artifacts in ./mlruns; the autouse fixture restores the cwd
    cfg = compose(
        [
            *fixture_overrides(tmp),
            "tracking.register.enabled=true",
            "tracking.register.name=fixture-model",
            "tracking.register.alias=champion",
        ]
    )
    mlflow.set_tracking_uri(cfg.tracking.uri)
    result = train(cfg)
    return {"result": result, "cfg": cfg, "tmp": tmp, "uri": cfg.tracking.uri}
