"""The Hydra config tree composes in every combination a user can pick."""

from __future__ import annotations

from pathlib import Path

import pytest

from stancelab.config import compose, conf_dir

GROUPS = ("dataset", "features", "model", "evaluation", "tracking", "experiment")


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


def test_default_config_composes_to_the_seed_corpus():
    cfg = compose()
    assert cfg.dataset.name == "seeds"
    assert cfg.dataset.sources[0].paths[0].endswith("seeds/corpus/*.jsonl")
    assert cfg.tracking.uri == "sqlite:///mlflow.db"
    assert cfg.target_mode == "joint"
    assert cfg.default_target == "troop deployment to Ukraine"


@pytest.mark.parametrize("group", ["features", "model"])
def test_every_pipeline_option_instantiates(group):
    from stancelab.models import build_model

    for option in options(group):
        cfg = compose([f"{group}={option}"])
        model = build_model(cfg)
        assert model.get_params()["pipeline"] is not None, option


@pytest.mark.parametrize("group", [g for g in GROUPS if g != "experiment"])
def test_every_option_composes(group):
    for option in options(group):
        extra = {
            "csv": ["dataset.path=x.csv"],
            "jsonl": ["dataset.path=x.jsonl"],
            "label_studio": ["dataset.path=x.json"],
            "doccano": ["dataset.path=x.jsonl"],
            "hf": ["dataset.hub_name=x"],
        }.get(option, [])
        cfg = compose([f"{group}={option}", *extra])
        assert cfg[group] is not None


def test_experiments_compose_and_set_what_they_promise():
    names = options("experiment")
    assert names, "conf/experiment/ is empty"
    for name in names:
        cfg = compose([f"experiment={name}"])
        assert cfg.dataset.name and cfg.model._target_


def test_overrides_reach_the_model():
    cfg = compose(["model=logreg", "model.C=0.25", "seed=3"])
    assert cfg.model.C == 0.25 and cfg.model.random_state == 3


def test_conf_dir_is_the_checkout_conf():
    assert conf_dir() == Path(__file__).parents[1] / "conf"
