"""Where the Hydra config lives, and composing it outside ``stancelab train``.

In a source checkout (the usual case) the config is the repository's ``conf/``; an installed
wheel carries a copy as ``stancelab/conf``. ``STANCELAB_CONFIG_DIR`` points elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parents[1]


def conf_dir() -> Path:
    if env := os.environ.get("STANCELAB_CONFIG_DIR"):
        return Path(env).resolve()
    if (_CHECKOUT / "conf" / "config.yaml").exists():
        return _CHECKOUT / "conf"
    return _PACKAGE / "conf"


def project_root() -> Path:
    """The checkout when running from one (so ``seeds/`` is found), else the working folder."""
    if env := os.environ.get("STANCELAB_ROOT"):
        return Path(env).resolve()
    if (_CHECKOUT / "seeds").is_dir() and (_CHECKOUT / "conf").is_dir():
        return _CHECKOUT
    return Path.cwd()


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("stancelab_root"):
        OmegaConf.register_new_resolver("stancelab_root", lambda: str(project_root()))


def compose(
    overrides: Sequence[str] = (), config_name: str = "config", validate: bool = True
) -> DictConfig:
    """The same config ``stancelab train`` would see, for the data and evaluate commands.

    It is checked against stancelab.schema (``validate=False`` skips that, for code that
    edits the config before using it): a wrong value fails here, before any data is read.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from stancelab.errors import StancelabError

    register_resolvers()
    try:
        with initialize_config_dir(str(conf_dir()), version_base="1.3", job_name="stancelab"):
            cfg = hydra_compose(config_name, overrides=list(overrides), return_hydra_config=True)
    except (HydraException, OmegaConfBaseException) as err:
        raise StancelabError(f"invalid configuration: {err}") from None
    cfg = with_choices(cfg, cfg.hydra.runtime.choices)
    if validate:
        from stancelab.schema import validate as check

        check(cfg, overrides)
    return cfg


def with_choices(cfg: DictConfig, choices: Mapping[str, str | None]) -> DictConfig:
    """Record which option of each config group was picked (``choices.model: logreg``...).

    They name runs and become MLflow parameters, so the UI can filter runs by option. The
    ``hydra`` node is dropped: it describes the launcher, not the experiment.
    """
    picked = {k: v for k, v in choices.items() if not k.startswith("hydra") and v is not None}
    with open_dict(cfg):
        cfg.pop("hydra", None)
        cfg.choices = picked
    return cfg
