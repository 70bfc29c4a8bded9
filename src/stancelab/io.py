"""Reading texts to classify and writing predictions (the ``predict`` command's files)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stancelab.errors import DataValidationError, Problem, StancelabError

if TYPE_CHECKING:
    import pandas as pd


def read_inputs(path: Path) -> list[dict[str, Any]]:
    """Texts from ``.txt`` (one a line), ``.jsonl`` or ``.csv``/``.tsv`` with a ``text`` column."""
    if not path.exists():
        raise StancelabError(f"{path}: no such file")
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise StancelabError(f"{path}: not valid UTF-8 (byte offset {err.start})") from None
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows, problems = [], []
        for lineno, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                problems.append(Problem(str(path), lineno, None, f"malformed JSON: {err.msg}"))
                continue
            if not isinstance(obj, dict) or "text" not in obj:
                problems.append(Problem(str(path), lineno, "text", "missing field"))
                continue
            rows.append(obj)
        if problems:
            raise DataValidationError(problems)
        return rows
    if suffix in {".csv", ".tsv"}:
        reader = csv.DictReader(content.splitlines(), delimiter="\t" if suffix == ".tsv" else ",")
        if "text" not in (reader.fieldnames or []):
            raise StancelabError(f"{path}: no 'text' column (columns: {reader.fieldnames})")
        return [dict(row) for row in reader]
    return [{"text": line} for line in content.splitlines() if line.strip()]


def write_predictions(frame: pd.DataFrame, output: str | None, classes: list[str]) -> None:
    """JSONL (default, and for ``.jsonl``) or CSV (for ``.csv``); stdout when no output."""
    columns = ["text", "target", "stance", *classes]
    extra = [c for c in frame.columns if c not in columns]
    frame = frame[[*extra, *columns]].round({c: 4 for c in classes})
    if output and output.lower().endswith(".csv"):
        frame.to_csv(output, index=False)
        return
    lines = "".join(json.dumps(rec, ensure_ascii=False) + "\n"
                    for rec in frame.to_dict(orient="records"))
    if output:
        Path(output).write_text(lines, encoding="utf-8")
    else:
        sys.stdout.write(lines)
