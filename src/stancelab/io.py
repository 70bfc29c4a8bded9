"""Reading texts to classify and writing predictions (the ``predict`` command's files)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from stancelab.errors import DataValidationError, Problem, StancelabError


def read_utf8(path: Path) -> str:
    """A text file's content as written (no newline translation: a \\r inside a quoted CSV
    field stays a \\r; a leading byte-order mark is dropped), or a clear error naming it."""
    check_input(path)
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise StancelabError(f"{path}: no such file") from None
    except UnicodeDecodeError as err:
        raise StancelabError(f"{path}: not valid UTF-8 (byte offset {err.start})") from None


def read_inputs(path: Path) -> list[dict[str, Any]]:
    """Texts from ``.txt`` (one a line), ``.jsonl`` or ``.csv``/``.tsv`` with a ``text`` column.

    Every row is kept, in order; a row that cannot be read is an error naming its line, never
    a silent skip. JSONL ``text`` must be a string (a number or a list is a mistake, not text).
    """
    check_input(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        from stancelab.data.readers import json_lines

        problems: list[Problem] = []
        rows = []
        for lineno, obj in json_lines(path, "utf-8", problems):
            if "text" not in obj:
                problems.append(Problem(str(path), lineno, "text", "missing field"))
            elif obj["text"] is not None and not isinstance(obj["text"], str):
                problems.append(
                    Problem(
                        str(path),
                        lineno,
                        "text",
                        f"expected a string, got {type(obj['text']).__name__} {obj['text']!r:.40}",
                    )
                )
            else:
                rows.append(obj)
        if problems:
            raise DataValidationError(problems)
        return rows
    content = read_utf8(path)
    if suffix in {".csv", ".tsv"}:
        # newline="" keeps quoted line breaks inside a field and reads \r\n, \n or \r alike.
        reader = csv.DictReader(
            io.StringIO(content, newline=""), delimiter="\t" if suffix == ".tsv" else ","
        )
        if "text" not in (reader.fieldnames or []):
            raise StancelabError(f"{path}: no 'text' column (columns: {reader.fieldnames})")
        try:
            return [{k: v for k, v in row.items() if k is not None} for row in reader]
        except csv.Error as err:
            raise StancelabError(f"{path}:{reader.line_num}: unreadable CSV ({err})") from None
    # Lines end at \n, \r\n or \r only: str.splitlines would also split at form feeds and
    # Unicode line separators inside a sentence.
    return [{"text": line} for line in re.split(r"\r\n|\r|\n", content) if line.strip()]


def check_input(path: Path) -> None:
    if not path.exists():
        raise StancelabError(f"{path}: no such file")
    if path.is_dir():
        raise StancelabError(f"{path}: is a folder; give a file (.txt, .jsonl, .csv or .tsv)")


def write_predictions(
    records: Iterable[dict[str, Any]], output: str | None, classes: list[str]
) -> int:
    """JSONL (default, and for ``.jsonl``) or CSV (for ``.csv``); stdout when no output.

    Records are written as they come (``Predictor.iter_records`` streams them). A file is
    written to a temporary name beside it and renamed at the end, so that a failure never
    leaves half a file or destroys the previous one. Characters the encoding cannot hold (a
    lone surrogate from a JSON escape) are written as ``\\uXXXX``, which JSON reads back as
    the same character. Scores are rounded to 4 decimals: more digits only look like
    precision. Returns the number of rows written.
    """
    as_csv = bool(output) and str(output).lower().endswith(".csv")
    if not output:
        return _write(sys.stdout, records, classes, as_csv)
    target = Path(output)
    if target.is_dir():
        raise StancelabError(f"{target}: is a folder; give a file name for --output")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise StancelabError(f"{target}: the folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
    except OSError as err:
        raise StancelabError(f"{target}: cannot write in {folder} ({err.strerror})") from None
    try:
        with os.fdopen(
            fd, "w", encoding="utf-8", errors="backslashreplace", newline="" if as_csv else None
        ) as fh:
            count = _write(fh, records, classes, as_csv)
        if target.exists() and not os.access(target, os.W_OK):
            raise StancelabError(f"{target}: the file is read-only; nothing was written")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return count


def _write(fh: Any, records: Iterable[dict[str, Any]], classes: list[str], as_csv: bool) -> int:
    count = 0
    writer = None
    for rec in records:
        rec = {**rec, **{c: round(rec[c], 4) for c in classes}}
        if as_csv:
            if writer is None:
                writer = csv.DictWriter(fh, fieldnames=list(rec))
                writer.writeheader()
            writer.writerow(rec)
        else:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        count += 1
    if as_csv and writer is None:  # no rows: still a valid CSV with its header
        csv.DictWriter(fh, fieldnames=["text", "target", "stance", *classes]).writeheader()
    return count
