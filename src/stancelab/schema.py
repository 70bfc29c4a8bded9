"""The config boundary: every section of the composed config checked once, before any work.

Hydra composes the config and rejects unknown keys, but it cannot say that ``model.C`` must be a
positive number, that ``aggregation.tie`` must be ``drop`` or a label, or that a reader has no
option called ``delimter``. :func:`validate` checks all of that right after composition, at the
start of every command, before a file is read or a model is fitted, and raises one
:class:`ConfigError` listing every mistake with its key, its value, what is allowed and where
the value came from (a command-line override or a config file).

Why pydantic and not Hydra's structured configs: the checks need ranges, allowed values that
depend on other keys (a tie label must be one of ``dataset.labels``), regular expressions that
must compile and reader options that depend on the reader, and errors located to the key.
pydantic models with ``extra="forbid"`` express all of it in one place; structured configs would
give types only. The YAML files stay the single home of every default: the schema has no
defaults of its own, so a key missing from the YAML is an error here, not a silent fallback.

Estimators (``model`` and ``features``) are checked the way scikit-learn checks them: they are
instantiated from config and their parameters validated (through :mod:`stancelab._compat`),
without data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from stancelab.errors import StancelabError

SEED_MAX = 2**32 - 1


class ConfigError(StancelabError):
    """One or more config values are wrong; the message lists each with its origin."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        lines = [f"{len(self.problems)} problem(s) in the configuration; nothing was run:"]
        lines += [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class Keyed(ValueError):
    """A cross-field problem located at ``key`` (relative to the model that raises it)."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


# ------------------------------------------------------------------------------ dataset


class Text(_Section):
    residue: list[str]
    min_chars: int = Field(ge=0)

    @field_validator("residue")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"{pattern!r} is not a regular expression ({err})") from None
        return value


class Dedup(_Section):
    exact: bool
    normalized: bool


class Aggregation(_Section):
    tie: str


class Split(_Section):
    ratios: dict[Literal["train", "validation", "test"], float]
    seed: int = Field(ge=0, le=SEED_MAX)
    group_by: str

    @field_validator("ratios")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        if any(not 0.0 <= v <= 1.0 for v in value.values()):
            raise ValueError("each ratio must lie between 0 and 1")
        if sum(value.values()) > 1.0 + 1e-9:
            raise ValueError(f"ratios add up to {sum(value.values()):g}, more than 1")
        return value


class Source(_Section):
    """One input: ``format`` picks the reader; other keys are that reader's options."""

    model_config = ConfigDict(extra="allow", frozen=True)
    format: str
    paths: list[str] | None = None
    documents: list[str] | None = None

    @model_validator(mode="after")
    def _reader_options(self) -> Source:
        from stancelab.data.readers import READERS, reader_options

        known = ["hf", *READERS]
        if self.format not in known:
            raise Keyed("format", f"must be one of: {', '.join(known)}")
        allowed = reader_options(self.format) | ({"name"} if self.format == "hf" else set())
        extra = dict(self.model_extra or {})
        for option in sorted(set(extra) - allowed):
            raise Keyed(
                option,
                f"the {self.format} reader has no such option; its options: "
                f"{', '.join(sorted(allowed)) or '(none)'}",
            )
        if self.format == "hf":
            if not extra.get("name"):
                raise Keyed("name", "an hf source needs a dataset name (dataset.hub_name)")
        elif not self.paths:
            raise Keyed("paths", "is empty: name the file(s) to read")
        return self


class Dataset(_Section):
    name: str = Field(min_length=1)
    sources: list[Source] = Field(min_length=1)
    labels: list[str] = Field(min_length=2)
    label_map: dict[str, str]
    targets: list[str]
    target_rename: dict[str, str]
    text: Text
    dedup: Dedup
    aggregation: Aggregation
    split: Split
    cache_dir: str
    max_problems: int = Field(ge=1)
    # Set by the csv and hf options (their sources interpolate them).
    path: str | None = None
    hub_name: str | None = None


def dataset_checks(data: Any) -> list[tuple[str, str]]:
    """Checks across dataset keys, as ``(key, message)``; run even when a field of the section
    is wrong elsewhere (pydantic skips model validators then), so that no mistake hides
    another."""
    if not isinstance(data, Mapping):
        return []
    labels = data.get("labels")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        return []
    out = []
    if len(set(labels)) != len(labels):
        out.append(("labels", "repeats a label"))
    label_map = data.get("label_map")
    if isinstance(label_map, Mapping):
        out += [
            (f"label_map.{raw}", f"maps to a label not among {labels}")
            for raw, label in label_map.items()
            if label not in labels
        ]
    tie = (
        (data.get("aggregation") or {}).get("tie")
        if isinstance(data.get("aggregation"), Mapping)
        else None
    )
    if isinstance(tie, str) and tie != "drop" and tie not in labels:
        out.append(("aggregation.tie", f"must be 'drop' or one of the labels {labels}"))
    return out


# ------------------------------------------------------------------------------ the rest


class Evaluation(_Section):
    primary_metric: Literal["macro_f1", "f_avg", "accuracy"]
    favor_label: str
    against_label: str
    bootstrap: int = Field(ge=0)
    max_misclassified: int = Field(ge=0)
    plots: bool


class Lite(_Section):
    enabled: bool
    check_rows: int = Field(ge=1)


class Register(_Section):
    enabled: bool
    name: str = Field(min_length=1)
    alias: str | None


class Tracking(_Section):
    enabled: bool
    uri: str | None
    connect_timeout: float = Field(gt=0)
    experiment: str = Field(min_length=1)
    log_model: bool
    model_name: str = Field(min_length=1)
    lite: Lite | None = None
    register_: Register = Field(alias="register")  # `register` would shadow BaseModel's
    tags: dict[str, str | int | float | bool]


class SearchParam(_Section):
    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _range(self) -> SearchParam:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical parameter needs choices")
        elif self.low is None or self.high is None or self.low >= self.high:
            raise ValueError(f"a {self.type} parameter needs low < high")
        elif self.log and self.low <= 0:
            raise ValueError("a log-scaled parameter needs low > 0")
        return self


class Search(_Section):
    study_name: str = Field(min_length=1)
    storage: str | None
    direction: Literal["maximize", "minimize"]
    metric: str = Field(min_length=1)
    n_trials: int = Field(ge=1)
    params: dict[str, SearchParam]


class Top(_Section):
    """The top-level keys of conf/config.yaml (sections are checked on their own)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    target_mode: Literal["joint", "per_target", "text_only"]
    seed: int = Field(ge=0, le=SEED_MAX)
    default_target: str | None
    run_name: str | None
    cv_folds: int = Field(ge=0)
    json_: bool = Field(alias="json")  # `json` would shadow BaseModel's

    @field_validator("cv_folds")
    @classmethod
    def _folds(cls, value: int) -> int:
        if value == 1:
            raise ValueError("cross-validation needs 2 or more folds (0 turns it off)")
        return value


SECTIONS: dict[str, type[_Section]] = {
    "dataset": Dataset,
    "evaluation": Evaluation,
    "tracking": Tracking,
    "search": Search,
}


# ------------------------------------------------------------------------------ validation


def validate(cfg: Any, overrides: Sequence[str] = (), estimators: bool = True) -> None:
    """Check every section of ``cfg``; raise :class:`ConfigError` listing all problems.

    ``overrides`` (the command line's) lets each message say where a value came from.
    ``estimators=False`` skips building ``model`` and ``features`` (commands that never fit).
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    origin = Origins(overrides, dict(cfg.get("choices") or {}))
    problems: list[str] = []
    try:
        plain = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as err:
        missing = re.search(r"Missing mandatory value: ([\w.\[\]]+)", str(err))
        if missing:
            key = missing.group(1)
            raise ConfigError(
                [f"{key}: has no value; set it, e.g. {key}=... ({origin(key)})"]
            ) from None
        key = getattr(err, "full_key", None) or "?"
        raise ConfigError([f"{key}: {_first_line(err)} ({origin(key)})"]) from None
    raw = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(plain, dict) and isinstance(raw, dict)
    top = {k: v for k, v in plain.items() if k not in {*SECTIONS, "model", "features"}}
    problems += _check(Top, top, "", origin)
    for name, schema in SECTIONS.items():
        if plain.get(name) is not None:
            problems += _check(schema, plain[name], name, origin, raw.get(name))
            if name == "dataset":
                for key, message in dataset_checks(plain[name]):
                    full = f"dataset.{key}"
                    value = _lookup(plain[name], key.split("."))
                    shown = f" = {value!r}" if isinstance(value, str) else ""
                    problems.append(f"{full}{shown}: {message} ({origin(full)})")
        elif name != "search":
            problems.append(f"{name}: missing section ({origin(name)})")
    if estimators and not problems:
        problems += check_estimators(cfg, origin)
    if problems:
        raise ConfigError(problems)


def _check(
    schema: type[BaseModel], data: Any, prefix: str, origin: Origins, raw: Any = None
) -> list[str]:
    """Problems of one section; a value interpolated from another key (``${seed}``) is
    reported at that key only."""
    try:
        schema.model_validate(data)
    except ValidationError as err:
        out = []
        for e in err.errors(include_url=False):
            loc = list(e["loc"])
            cause = (e.get("ctx") or {}).get("error")
            if isinstance(cause, Keyed):
                loc += cause.key.split(".")
            key = ".".join(filter(None, [prefix, *map(str, loc)]))
            value = _lookup(data, loc)
            source = _lookup(raw, loc) if raw is not None else _MISSING
            if isinstance(source, str) and source.startswith("${"):
                continue  # the key it comes from is checked (and reported) itself
            if e["type"] == "extra_forbidden":
                out.append(f"{key}: unknown key ({origin(key)})")
            elif e["type"] == "missing":
                out.append(f"{key}: missing ({origin(key)})")
            else:
                scalar = value is not _MISSING and not isinstance(value, dict | list)
                shown = f" = {value!r}" if scalar else ""
                message = e["msg"].removeprefix("Value error, ")
                out.append(f"{key}{shown}: {message} ({origin(key)})")
        return out
    return []


_MISSING = object()


def _lookup(data: Any, loc: Sequence[Any]) -> Any:
    for part in loc:
        in_map = isinstance(data, Mapping) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and part < len(data)
        if in_map or in_list:
            data = data[part]
        else:
            return _MISSING
    return data


def check_estimators(cfg: Any, origin: Origins) -> list[str]:
    """Instantiate ``model`` and ``features`` and check their parameters, without data."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    from stancelab._compat import invalid_parameter
    from stancelab.models import walk_estimators

    problems = []
    for section in ("model", "features"):
        try:
            obj = instantiate(cfg[section], _convert_="all")
        except InstantiationException as err:
            cause = err.__cause__ or err
            key = _keyword_key(section, cfg[section], str(cause))
            problems.append(f"{key}: {_first_line(cause)} ({origin(key)})")
            continue
        except ImportError as err:
            problems.append(f"{section}._target_: {_first_line(err)} ({origin(section)})")
            continue
        for estimator in walk_estimators(obj):
            found = invalid_parameter(estimator)
            if found is None:
                continue
            param, message = found
            key = _param_key(section, cfg[section], param)
            problems.append(
                f"{key} = {getattr(estimator, param, '?')!r}: {message} ({origin(key)})"
            )
    return problems


def _param_key(section: str, node: Any, param: str) -> str:
    """The config key that set ``param`` inside ``section`` (first match, depth first)."""
    from omegaconf import DictConfig, ListConfig

    def walk(n: Any, path: list[str]) -> list[str] | None:
        if isinstance(n, DictConfig):
            if param in n:
                return [*path, param]
            for k in n:
                found = walk(n[k], [*path, str(k)])
                if found:
                    return found
        elif isinstance(n, ListConfig):
            for i, item in enumerate(n):
                found = walk(item, [*path, str(i)])
                if found:
                    return found
        return None

    return ".".join([section, *(walk(node, []) or [param])])


def _keyword_key(section: str, node: Any, message: str) -> str:
    match = re.search(r"unexpected keyword argument '(\w+)'", message)
    return _param_key(section, node, match.group(1)) if match else section


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


class Origins:
    """Where a key's value came from: an override, the experiment's file or a group's file."""

    def __init__(self, overrides: Sequence[str], choices: Mapping[str, str]):
        self.overrides = [o for o in overrides if "=" in o]
        self.choices = choices

    def __call__(self, key: str) -> str:
        from stancelab.config import conf_dir

        root = conf_dir()
        picked = None
        for override in self.overrides:
            name, value = override.split("=", 1)
            name = name.lstrip("+~")
            if name in self.choices:  # a group option picked: the value sits in its file
                if key == name or key.startswith(name + "."):
                    picked = f"{_shown(root / name / (value + '.yaml'))}, picked by '{override}'"
                continue
            if key == name or key.startswith(name + ".") or name.startswith(key + "."):
                return f"override '{override}'"
        if picked:
            return picked
        for group in ("experiment", "hparams_search"):
            chosen = self.choices.get(group)
            if chosen and self._sets(root / group / f"{chosen}.yaml", key):
                return _shown(root / group / f"{chosen}.yaml")
        head = key.split(".", 1)[0]
        if head in self.choices:
            return _shown(root / head / f"{self.choices[head]}.yaml")
        return _shown(root / "config.yaml")

    @staticmethod
    def _sets(path: Path, key: str) -> bool:
        from omegaconf import OmegaConf

        if not path.exists():
            return False
        try:
            return OmegaConf.select(OmegaConf.load(path), key, default=None) is not None
        except Exception:  # a file Hydra already accepted; be lenient in a message helper
            return False


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
