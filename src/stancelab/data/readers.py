"""Readers turn annotation files of many shapes into one record shape.

Every reader returns ``(records, problems)``. A record is a plain dict with the canonical fields
(``id``, ``doc_id``, ``text``, ``target``, ``stance`` and optional ``speaker``, ``annotator``,
``split``) plus ``_loc``, the ``(file, line)`` it came from, so that later steps can still say
where a bad value lives. Readers never stop at the first problem: they collect all of them.
"""

from __future__ import annotations

import csv
import glob
import io
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from stancelab.errors import Problem, StancelabError

Record = dict[str, Any]
ReadResult = tuple[list[Record], list[Problem]]

REQUIRED = ("text", "target", "stance")
OPTIONAL = ("id", "doc_id", "speaker", "annotator", "split", "phenomena")
FIELDS = (*REQUIRED, *OPTIONAL)


def expand_paths(patterns: Iterable[str | Path]) -> list[Path]:
    """Expand globs in order, failing clearly when a pattern matches nothing."""
    files: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(str(pattern), recursive=True))
        if not matches:
            raise StancelabError(f"no input file matches '{pattern}' (check dataset.sources.paths)")
        files.extend(Path(m) for m in matches)
    return files


def _decode(path: Path, encoding: str) -> tuple[str | None, list[Problem]]:
    data = path.read_bytes()
    try:
        return data.decode(encoding), []
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        msg = (
            f"invalid {encoding} bytes at offset {err.start}; re-save the file as UTF-8 "
            "or set the source's 'encoding'"
        )
        return None, [Problem(str(path), line, None, msg)]


def _record(loc: tuple[str, int], values: Mapping[str, Any], defaults: Mapping[str, Any]) -> Record:
    get = values.get  # once per record, not per field: this runs for every sentence
    rec: Record = {k: get(k) for k in FIELDS}
    for key, value in defaults.items():
        if rec.get(key) in (None, ""):
            rec[key] = value
    rec["_loc"] = loc
    return rec


def _check_required(rec: Record, problems: list[Problem]) -> bool:
    ok = True
    file, line = rec["_loc"]
    for key in REQUIRED:
        value = rec.get(key)
        if value is None:
            problems.append(Problem(file, line, key, "missing field"))
            ok = False
        elif not isinstance(value, str):
            problems.append(Problem(file, line, key, f"expected a string, got {value!r}"))
            ok = False
        elif key == "text" and not value.strip():
            problems.append(Problem(file, line, key, "empty text"))
            ok = False
    return ok


def json_lines(path: Path, encoding: str, problems: list[Problem]) -> Iterable[tuple[int, dict]]:
    """Yield ``(line number, object)`` for each valid JSON object line; collect the rest.

    The file is read line by line, so a large corpus is never held whole (as bytes, as text and
    as a list of lines: ~1 GB for a million sentences). Bytes that do not decode end the file
    with one problem that gives their line and offset.
    """
    try:
        with open(path, encoding=encoding) as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as err:
                    problems.append(Problem(str(path), lineno, None, f"malformed JSON: {err.msg}"))
                    continue
                if not isinstance(obj, dict):
                    problems.append(Problem(str(path), lineno, None, "expected a JSON object"))
                    continue
                yield lineno, obj
    except UnicodeDecodeError:
        problems.extend(_decode(path, encoding)[1])  # read again as bytes to locate the bad byte


def read_jsonl(
    path: Path,
    *,
    encoding: str = "utf-8",
    defaults: Mapping[str, Any] = (),
    column_map: Mapping[str, str] | None = None,
) -> ReadResult:
    """The project's own format: one JSON object per line with the canonical fields."""
    column_map = dict(column_map or {})
    problems: list[Problem] = []
    records: list[Record] = []
    defaults, name = dict(defaults), str(path)
    for lineno, obj in json_lines(path, encoding, problems):
        if column_map:
            obj = {column_map.get(k, k): v for k, v in obj.items()}
        rec = _record((name, lineno), obj, defaults)
        if _check_required(rec, problems):
            records.append(rec)
    return records, problems


def read_csv(
    path: Path,
    *,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    column_map: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] = (),
) -> ReadResult:
    """CSV or TSV; ``column_map`` maps the file's column names to canonical field names."""
    text, problems = _decode(path, encoding)
    if text is None:
        return [], problems
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() in {".tsv", ".tab", ".txt"} else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    inverse = dict(column_map or {})
    fields = reader.fieldnames or []
    for canonical in REQUIRED:
        names = [k for k, v in inverse.items() if v == canonical] or [canonical]
        if not set(names) & set(fields) and canonical not in dict(defaults):
            problems.append(
                Problem(
                    str(path),
                    1,
                    " or ".join(names),
                    f"column missing from header (columns: {', '.join(fields)})",
                )
            )
    if problems:
        return [], problems
    records: list[Record] = []
    for row in reader:
        lineno = reader.line_num
        values = {inverse.get(k, k): v for k, v in row.items() if k is not None}
        rec = _record((str(path), lineno), values, dict(defaults))
        if _check_required(rec, problems):
            records.append(rec)
    return records, problems


def read_label_studio(
    path: Path,
    *,
    choice_name: str | None = None,
    defaults: Mapping[str, Any] = (),
    text_key: str = "text",
    target_key: str = "target",
) -> ReadResult:
    """A Label Studio JSON export: one record per (task, annotation).

    Several annotations of one task become several records with the same ``id`` and their own
    ``annotator``; aggregation later turns them into one label.
    """
    raw, problems = _decode(path, "utf-8")
    if raw is None:
        return [], problems
    try:
        tasks = json.loads(raw)
    except json.JSONDecodeError as err:
        return [], [Problem(str(path), err.lineno, None, f"malformed JSON: {err.msg}")]
    if not isinstance(tasks, list):
        return [], [Problem(str(path), None, None, "expected a JSON list of tasks")]
    records: list[Record] = []
    for index, task in enumerate(tasks, start=1):
        data = task.get("data", {}) if isinstance(task, dict) else {}
        base = {
            "id": str(task.get("id", index)) if isinstance(task, dict) else str(index),
            "text": data.get(text_key),
            "target": data.get(target_key),
            "doc_id": data.get("doc_id"),
            "speaker": data.get("speaker"),
        }
        annotations = task.get("annotations", []) if isinstance(task, dict) else []
        if not annotations:
            problems.append(Problem(str(path), index, "annotations", "task has no annotation"))
            continue
        for ann in annotations:
            if ann.get("was_cancelled"):
                continue
            choices = [
                r.get("value", {}).get("choices", [])
                for r in ann.get("result", [])
                if r.get("type") == "choices"
                and (choice_name is None or r.get("from_name") == choice_name)
            ]
            flat = [c for group in choices for c in group]
            stance = flat[0] if len(flat) == 1 else None
            if len(flat) > 1:
                problems.append(
                    Problem(
                        str(path),
                        index,
                        "stance",
                        f"annotation has several choices {flat}; expected one",
                    )
                )
                continue
            annotator = ann.get("completed_by")
            if isinstance(annotator, dict):
                annotator = annotator.get("email") or annotator.get("id")
            annotator = None if annotator is None else str(annotator)
            rec = _record(
                (str(path), index),
                {**base, "stance": stance, "annotator": annotator},
                dict(defaults),
            )
            if _check_required(rec, problems):
                records.append(rec)
    return records, problems


def read_doccano(path: Path, *, defaults: Mapping[str, Any] = ()) -> ReadResult:
    """A doccano text-classification JSONL export (``text`` and a ``label`` list per line)."""
    problems: list[Problem] = []
    records: list[Record] = []
    for lineno, obj in json_lines(path, "utf-8", problems):
        labels = obj.get("label", obj.get("labels", []))
        labels = [labels] if isinstance(labels, str) else list(labels)
        if len(labels) != 1:
            problems.append(
                Problem(str(path), lineno, "label", f"expected exactly one label, got {labels}")
            )
            continue
        values = {**obj, "stance": labels[0], "id": str(obj["id"]) if "id" in obj else None}
        rec = _record((str(path), lineno), values, dict(defaults))
        if _check_required(rec, problems):
            records.append(rec)
    return records, problems


def read_semeval(
    path: Path,
    *,
    encoding: str = "cp1252",
    defaults: Mapping[str, Any] = (),
) -> ReadResult:
    """SemEval-2016 Task 6 release files: ``ID<TAB>Target<TAB>Tweet<TAB>Stance`` (cp1252, CRLF)."""
    column_map = {"ID": "id", "Target": "target", "Tweet": "text", "Stance": "stance"}
    return read_csv(
        path, encoding=encoding, delimiter="\t", column_map=column_map, defaults=defaults
    )


def read_ibm_claim_stance(
    path: Path, *, encoding: str = "utf-8", defaults: Mapping[str, Any] = ()
) -> ReadResult:
    """IBM Debater Claim Stance CSV (original or the derived train/test files)."""
    column_map = {
        "topicText": "target",
        "topic_text": "target",
        "claims.claimCorrectedText": "text",
        "claim_text": "text",
        "claims.stance": "stance",
        "stance": "stance",
        "claims.claimId": "id",
        "claim_id": "id",
        "topicId": "doc_id",
        "topic_id": "doc_id",
    }
    return read_csv(
        path, encoding=encoding, column_map=column_map, delimiter=",", defaults=defaults
    )


READERS: dict[str, Callable[..., ReadResult]] = {
    "stancelab": read_jsonl,
    "jsonl": read_jsonl,
    "csv": read_csv,
    "tsv": read_csv,
    "label_studio": read_label_studio,
    "doccano": read_doccano,
    "semeval2016": read_semeval,
    "ibm_claim_stance": read_ibm_claim_stance,
}


def read_hf(
    name: str,
    *,
    config: str | None = None,
    split: str | None = None,
    column_map: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] = (),
    data_files: Any = None,
    revision: str | None = None,
) -> ReadResult:
    """A dataset from the Hugging Face Hub (or a local dataset folder / builder name).

    This is the real ``datasets.load_dataset`` call; offline, it works on local folders and
    files, and with ``HF_HUB_OFFLINE=1`` on datasets already in the cache.
    """
    import datasets

    kwargs: dict[str, Any] = {}
    if data_files is not None:
        kwargs["data_files"] = data_files
    if revision:
        kwargs["revision"] = revision
    try:
        loaded = datasets.load_dataset(name, config, **kwargs)
    except Exception as err:  # the library raises many types; the user needs the message
        raise StancelabError(f"could not load Hugging Face dataset '{name}': {err}") from err
    splits = [split] if split else list(loaded.keys())
    column_map = dict(column_map or {})
    records: list[Record] = []
    problems: list[Problem] = []
    for split_name in splits:
        if split_name not in loaded:
            raise StancelabError(
                f"dataset '{name}' has no split '{split_name}' (splits: {', '.join(loaded.keys())})"
            )
        for index, row in enumerate(loaded[split_name], start=1):
            values = {column_map.get(k, k): v for k, v in row.items()}
            if "split" not in values and not split:
                values["split"] = split_name
            values = {
                k: (str(v) if isinstance(v, int) and k in ("id", "stance") else v)
                for k, v in values.items()
            }
            rec = _record((f"hf:{name}/{split_name}", index), values, dict(defaults))
            if _check_required(rec, problems):
                records.append(rec)
    return records, problems


def reader_options(fmt: str) -> set[str]:
    """The options a source of format ``fmt`` may set besides format, paths and documents:
    its reader's keyword-only parameters (the schema and read_source both check them)."""
    import inspect

    reader = read_hf if fmt == "hf" else READERS[fmt]
    return {
        p.name
        for p in inspect.signature(reader).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def read_source(source: Mapping[str, Any]) -> tuple[list[Record], list[Problem], list[Path]]:
    """Read one configured source; returns records, problems and the files read."""
    fmt = source.get("format", "stancelab")
    opts = {k: v for k, v in source.items() if k not in {"format", "paths", "documents", "name"}}
    if fmt == "hf" or fmt in READERS:
        allowed = reader_options(fmt)
        if unknown := sorted(set(opts) - allowed):
            raise StancelabError(
                f"the {fmt} reader has no option(s) {', '.join(unknown)}; "
                f"its options: {', '.join(sorted(allowed))}"
            )
    if fmt == "hf":
        records, problems = read_hf(source["name"], **opts)
        return records, problems, []
    if fmt not in READERS:
        raise StancelabError(f"unknown source format '{fmt}' (known: hf, {', '.join(READERS)})")
    files = expand_paths(source.get("paths", []))
    records: list[Record] = []
    problems: list[Problem] = []
    for path in files:
        recs, probs = READERS[fmt](path, **opts)
        records.extend(recs)
        problems.extend(probs)
    doc_files = expand_paths(source.get("documents") or [])
    if doc_files:
        meta, meta_problems = read_documents(doc_files)
        problems.extend(meta_problems)
        for rec in records:
            info = meta.get(rec.get("doc_id"))
            if info and rec.get("split") in (None, "") and info.get("split"):
                rec["split"] = info["split"]
    return records, problems, files + doc_files


def read_documents(paths: Iterable[Path]) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    """Per-document metadata files (``doc_id``, ``title``, ``kind``, ``date``, ``split``...)."""
    meta: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for path in paths:
        for lineno, obj in json_lines(path, "utf-8", problems):
            if "doc_id" not in obj:
                problems.append(Problem(str(path), lineno, "doc_id", "missing field"))
                continue
            meta[obj["doc_id"]] = {**obj, "_loc": (str(path), lineno)}
    return meta, problems
