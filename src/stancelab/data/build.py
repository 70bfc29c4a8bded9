"""Build a versioned ``datasets.DatasetDict`` from the configured sources.

The steps run in a fixed order (read → map labels → select targets → clean → check ids →
agreement → aggregate → deduplicate → split) and every problem found on the way is collected, so
that one run shows the user everything to fix. Output goes to a cache folder keyed by a
fingerprint of the dataset config and of the input files' bytes: building again with nothing
changed reuses it, and changing one byte of one input rebuilds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stancelab.data import normalize
from stancelab.data.agreement import agreement_report
from stancelab.data.readers import Record, expand_paths, read_source
from stancelab.data.split import SPLITS, assign_splits
from stancelab.errors import DataValidationError, Problem

if TYPE_CHECKING:
    import datasets

log = logging.getLogger(__name__)

FORMAT_VERSION = "2"  # bump when the build output changes for the same inputs
COLUMNS = ("id", "doc_id", "text", "target", "stance", "speaker")


@dataclass
class Prepared:
    """Validated, normalised records split into train / validation / test, with a report."""

    splits: dict[str, list[Record]]
    report: dict[str, Any]
    files: list[Path] = field(default_factory=list)


@dataclass
class BuildResult:
    """What ``build_dataset`` returns: the splits, where they live and how they were made."""

    dataset: datasets.DatasetDict
    path: Path
    fingerprint: str
    report: dict[str, Any]
    reused: bool


def _plain(cfg: Any) -> dict[str, Any]:
    """A plain dict of a (possibly OmegaConf) config, resolved."""
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(cfg, DictConfig):
            return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except ImportError:  # pragma: no cover - hydra is a dependency
        pass
    return dict(cfg)


def prepare(cfg: Mapping[str, Any]) -> Prepared:
    """Read and validate every source; raise :class:`DataValidationError` listing all problems."""
    cfg = _plain(cfg)
    records, report, files = prepare_records(cfg)
    split_cfg = cfg["split"]
    splits, probs = assign_splits(
        records, split_cfg["ratios"], int(split_cfg["seed"]), split_cfg["group_by"]
    )
    if probs:
        raise DataValidationError(probs, limit=int(cfg["max_problems"]))
    report["counts"] = count_table(splits)
    return Prepared(splits, report, files)


def prepare_records(cfg: Mapping[str, Any]) -> tuple[list[Record], dict[str, Any], list[Path]]:
    """Every step but the split: read → map labels → select targets → clean → check ids →
    agreement → aggregate → deduplicate. Training's datasets and ``stancelab evaluate``'s files
    go through the same steps, so a file is read the same way in both."""
    cfg = _plain(cfg)
    problems: list[Problem] = []
    records: list[Record] = []
    files: list[Path] = []
    for source in cfg["sources"]:
        recs, probs, src_files = read_source(source)
        records += recs
        problems += probs
        files += src_files
    read_count = len(records)
    labels = list(cfg.get("labels", ["favor", "against", "none"]))
    records, probs = normalize.apply_label_map(records, cfg.get("label_map") or {}, labels)
    problems += probs
    records = normalize.select_targets(records, cfg.get("targets"), cfg.get("target_rename") or {})
    text_cfg = cfg.get("text", {})
    records, too_short = normalize.clean_records(
        records, text_cfg.get("residue", []), int(text_cfg.get("min_chars", 1))
    )
    problems += normalize.check_ids(records)
    if problems:
        raise DataValidationError(problems, limit=int(cfg.get("max_problems", 50)))
    agreement = agreement_report(records)
    records, ties = normalize.aggregate(records, tie=cfg.get("aggregation", {}).get("tie", "drop"))
    dedup = cfg.get("dedup", {})
    records, dups = normalize.deduplicate(
        records, normalized=dedup.get("normalized", True), exact=dedup.get("exact", True)
    )
    report = {
        "name": cfg.get("name", "dataset"),
        "labels": labels,
        "read": read_count,
        "too_short": too_short,
        "ties_dropped": ties if cfg.get("aggregation", {}).get("tie", "drop") == "drop" else 0,
        "duplicates": dups,
        "agreement": agreement,
        "files": {str(f): _sha256(f) for f in files},
    }
    return records, report, files


def source_files(cfg: Mapping[str, Any]) -> list[Path]:
    """Every input file the configured sources name (sentences and document metadata)."""
    files: list[Path] = []
    for source in cfg["sources"]:
        if source.get("format") != "hf":
            files += expand_paths(source.get("paths", []))
            files += expand_paths(source.get("documents") or [])
    return files


def count_table(splits: Mapping[str, list[Record]]) -> dict[str, dict[str, dict[str, int]]]:
    """``{split: {target: {label: n}}}``, for the card and the stats command."""
    table: dict[str, dict[str, dict[str, int]]] = {}
    for name, recs in splits.items():
        per: dict[str, Counter[str]] = {}
        for rec in recs:
            per.setdefault(rec["target"], Counter())[rec["stance"]] += 1
        table[name] = {t: dict(sorted(c.items())) for t, c in sorted(per.items())}
    return table


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(cfg: Mapping[str, Any], files: Mapping[str, str]) -> str:
    """Hash of the dataset config and the input files' content (not their paths' mtimes)."""
    payload = json.dumps(
        {"cfg": _plain(cfg), "files": sorted(files.values()), "version": FORMAT_VERSION},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


CHUNK = 100_000  # records turned into Arrow at a time (bounds the temporary column lists)


def to_dataset_dict(
    splits: Mapping[str, list[Record]],
    labels: list[str],
    release: bool = False,
    fingerprint: str | None = None,
) -> datasets.DatasetDict:
    """Records to a ``DatasetDict`` with ``stance`` as a ``ClassLabel``; empty splits left out.

    Records are converted ``CHUNK`` at a time; with ``release`` each split's list is emptied
    once converted, so the records are freed before the dataset is saved. A given
    ``fingerprint`` (the build's) names each split's dataset; without it ``datasets`` hashes
    the whole table, which takes a transient ~3x the table in memory.
    """
    import datasets
    import pyarrow as pa

    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "doc_id": datasets.Value("string"),
            "text": datasets.Value("string"),
            "target": datasets.Value("string"),
            "stance": datasets.ClassLabel(names=labels),
            "speaker": datasets.Value("string"),
        }
    )
    index = {label: i for i, label in enumerate(labels)}
    out = {}
    for name in SPLITS:
        recs = splits.get(name, [])
        if not recs:  # e.g. no validation split: an empty Arrow split cannot be reloaded
            continue
        tables = []
        for start in range(0, len(recs), CHUNK):
            chunk = recs[start : start + CHUNK]
            columns = {
                c: [None if r.get(c) is None else str(r.get(c)) for r in chunk]
                for c in COLUMNS
                if c != "stance"
            }
            columns["id"] = [r.get("id") or f"{name}-{start + i}" for i, r in enumerate(chunk)]
            columns["stance"] = [index[r["stance"]] for r in chunk]
            # Straight to Arrow: Dataset.from_dict would re-encode every value in Python.
            tables.append(pa.Table.from_pydict(columns, schema=features.arrow_schema))
        if release:
            recs.clear()
        out[name] = datasets.Dataset(
            pa.concat_tables(tables),
            info=datasets.DatasetInfo(features=features),
            fingerprint=f"{fingerprint[:16]}-{name}" if fingerprint else None,
        )
    return datasets.DatasetDict(out)


def render_card(report: Mapping[str, Any], fp: str) -> str:
    """The dataset card (README.md in the build folder): counts, dedup, agreement, sources."""
    labels = report["labels"]
    lines = [
        f"# Dataset `{report['name']}`",
        "",
        f"Fingerprint `{fp[:16]}`; built by stancelab from {len(report['files'])} file(s).",
        "",
        "## Counts per split × target × label",
        "",
        "| split | target | " + " | ".join(labels) + " | total |",
        "|---|---|" + "---:|" * (len(labels) + 1),
    ]
    for split, per_target in report["counts"].items():
        for target, counts in per_target.items():
            cells = [str(counts.get(lab, 0)) for lab in labels]
            lines.append(
                f"| {split} | {target} | " + " | ".join(cells) + f" | {sum(counts.values())} |"
            )
    d = report["duplicates"]
    lines += [
        "",
        "## Cleaning",
        "",
        f"- records read: {report['read']}",
        f"- dropped as too short: {report['too_short']}",
        f"- exact duplicates removed: {d['exact']}",
        f"- normalised duplicates removed: {d['normalized']}",
        f"- of which with a conflicting label: {d['conflicting']}",
        f"- multi-annotator ties dropped: {report['ties_dropped']}",
        "",
        "## Agreement",
        "",
    ]
    agreement = report.get("agreement") or {}
    if not agreement:
        lines.append("Single annotation per sentence: no agreement to report.")
    else:
        lines.append(f"{agreement['units']} sentences with two or more annotations.")
        lines += ["", "| target | Krippendorff's alpha |", "|---|---:|"]
        lines += [f"| {t} | {_fmt(a)} |" for t, a in agreement["krippendorff_alpha"].items()]
        lines += ["", "| annotator pair | Cohen's kappa |", "|---|---:|"]
        lines += [f"| {p} | {_fmt(k)} |" for p, k in agreement["cohen_kappa"].items()]
    lines += ["", "## Source files", "", "| file | sha256 |", "|---|---|"]
    lines += [f"| {f} | `{h[:16]}` |" for f, h in report["files"].items()]
    return "\n".join(lines) + "\n"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def build_dataset(
    cfg: Mapping[str, Any], cache_dir: str | Path | None = None, force: bool = False
) -> BuildResult:
    """Build (or reuse) the dataset described by ``cfg`` (the ``dataset`` config group)."""
    import datasets

    plain = _plain(cfg)
    cache_root = Path(cache_dir or plain.get("cache_dir") or ".stancelab/datasets")
    # The key needs only the config and the input files' bytes, so a cache hit skips reading
    # and validating every record.
    files = {str(f): _sha256(f) for f in source_files(plain)}
    fp = fingerprint({k: v for k, v in plain.items() if k != "cache_dir"}, files)
    target = cache_root / f"{plain.get('name', 'dataset')}-{fp[:12]}"
    if target.exists() and not force:
        log.debug("dataset %s unchanged; reusing %s", plain.get("name"), target)
        report = json.loads((target / "build.json").read_text())
        return BuildResult(datasets.load_from_disk(str(target)), target, fp, report, reused=True)
    prepared = prepare(plain)
    dsd = to_dataset_dict(prepared.splits, prepared.report["labels"], release=True, fingerprint=fp)
    datasets.disable_progress_bars()  # a few thousand rows save in a blink; bars are noise
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=cache_root))
    try:
        dsd.save_to_disk(str(tmp / "data"))
        (tmp / "README.md").write_text(render_card(prepared.report, fp), encoding="utf-8")
        (tmp / "build.json").write_text(
            json.dumps({**prepared.report, "fingerprint": fp}, indent=2), encoding="utf-8"
        )
        for item in (tmp / "data").iterdir():
            item.rename(tmp / item.name)
        (tmp / "data").rmdir()
        if target.exists() and force:
            shutil.rmtree(target)
        if (target / "build.json").exists():
            # Another process (a parallel sweep's worker) finished the same build first: the
            # fingerprint says its output is identical, so use it. Never delete it: that
            # process, or a third, may be reading it right now.
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            try:
                os.replace(tmp, target)  # a rename: the folder appears whole or not at all
            except OSError:
                if not (target / "build.json").exists():
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildResult(
        datasets.load_from_disk(str(target)),
        target,
        fp,
        {**prepared.report, "fingerprint": fp},
        reused=False,
    )
