"""Reading texts to classify and writing predictions (the ``predict`` command's files)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from stancelab.errors import DataValidationError, Problem, StancelabError


def read_utf8(path: Path) -> str:
    """A text file's content, or a clear error naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StancelabError(f"{path}: no such file") from None
    except UnicodeDecodeError as err:
        raise StancelabError(f"{path}: not valid UTF-8 (byte offset {err.start})") from None


def read_inputs(path: Path) -> list[dict[str, Any]]:
    """Texts from ``.txt`` (one a line), ``.jsonl`` or ``.csv``/``.tsv`` with a ``text`` column."""
    if not path.exists():
        raise StancelabError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        from stancelab.data.readers import json_lines

        problems: list[Problem] = []
        rows = []
        for lineno, obj in json_lines(path, "utf-8", problems):
            if "text" not in obj:
                problems.append(Problem(str(path), lineno, "text", "missing field"))
            else:
                rows.append(obj)
        if problems:
            raise DataValidationError(problems)
        return rows
    content = read_utf8(path)
    if suffix in {".csv", ".tsv"}:
        reader = csv.DictReader(content.splitlines(), delimiter="\t" if suffix == ".tsv" else ",")
        if "text" not in (reader.fieldnames or []):
            raise StancelabError(f"{path}: no 'text' column (columns: {reader.fieldnames})")
        return [dict(row) for row in reader]
    return [{"text": line} for line in content.splitlines() if line.strip()]


def write_predictions(records: list[dict[str, Any]], output: str | None,
                      classes: list[str]) -> None:
    """JSONL (default, and for ``.jsonl``) or CSV (for ``.csv``); stdout when no output.

    Scores are rounded to 4 decimals: more digits only look like precision.
    """
    rounded = [{**rec, **{c: round(rec[c], 4) for c in classes}} for rec in records]
    if output and output.lower().endswith(".csv"):
        columns = list(rounded[0]) if rounded else ["text", "target", "stance", *classes]
        with open(output, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rounded)
        return
    lines = "".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in rounded)
    if output:
        Path(output).write_text(lines, encoding="utf-8")
    else:
        sys.stdout.write(lines)
