"""Property-based tests: whatever text comes in (any Unicode, control characters, huge or
empty strings, odd quoting, mixed line endings), reading and predicting never raise anything
but a StancelabError, and never lose or reorder a row."""

from __future__ import annotations

import contextlib
import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stancelab.errors import StancelabError
from stancelab.io import read_inputs, write_predictions

MAIN = "troop deployment to Ukraine"
# Any code point, surrogates included (they reach us through JSON escapes).
anything = st.text(st.characters(codec=None, exclude_categories=()), max_size=300)
texts = st.lists(st.one_of(anything, st.just(""), st.text(max_size=6000)), max_size=25)
endings = st.sampled_from(["\n", "\r\n", "\r"])
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(rows=texts)
def test_jsonl_keeps_every_row_in_order(tmp_path, rows):
    path = tmp_path / "in.jsonl"
    path.write_text(
        "".join(json.dumps({"text": t, "n": i}) + "\n" for i, t in enumerate(rows)),
        encoding="utf-8",
    )
    got = read_inputs(path)
    assert [(r["text"], r["n"]) for r in got] == [(t, i) for i, t in enumerate(rows)]


@SETTINGS
@given(rows=texts, ending=endings, delimiter=st.sampled_from([",", "\t"]), quote_all=st.booleans())
def test_csv_keeps_every_row_in_order_whatever_the_quoting(
    tmp_path, rows, ending, delimiter, quote_all
):
    rows = [t.replace("\x00", "") for t in rows]  # NUL is not text a spreadsheet can hold
    rows = ["".join(c for c in t if not 0xD800 <= ord(c) <= 0xDFFF) for t in rows]
    buffer = io.StringIO(newline="")
    # Python's writer quotes only fields holding a character of its line ending: a \r left
    # unquoted in a file whose lines end in \n (or the reverse) is ambiguous for every CSV
    # reader, so quote everything then.
    if ending != "\r\n" and any("\r" in t or "\n" in t for t in rows):
        quote_all = True
    writer = csv.writer(
        buffer,
        delimiter=delimiter,
        lineterminator=ending,
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writerow(["n", "text"])
    writer.writerows([i, t] for i, t in enumerate(rows))
    path = tmp_path / ("in.csv" if delimiter == "," else "in.tsv")
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    got = read_inputs(path)
    assert [(r["text"], int(r["n"])) for r in got] == [(t, i) for i, t in enumerate(rows)]


@SETTINGS
@given(
    lines=st.lists(
        st.text(st.characters(exclude_characters="\r\n", codec="utf-8"), max_size=200), max_size=25
    ),
    ending=endings,
)
def test_txt_is_one_sentence_a_line_with_any_line_ending(tmp_path, lines, ending):
    path = tmp_path / "in.txt"
    path.write_bytes(ending.join(lines).encode("utf-8"))
    got = [r["text"] for r in read_inputs(path)]
    assert got == [t for t in lines if t.strip()]


@SETTINGS
@given(raw=st.binary(max_size=400))
def test_arbitrary_bytes_are_read_or_refused_clearly(tmp_path, raw):
    for name in ("in.jsonl", "in.csv", "in.txt"):
        path = tmp_path / name
        path.write_bytes(raw)
        with contextlib.suppress(StancelabError):
            read_inputs(path)


@pytest.fixture(scope="module")
def predictors(tmp_path_factory):
    import pandas as pd

    from conftest import fixture_overrides
    from stancelab import persistence
    from stancelab.config import compose
    from stancelab.inference import load
    from stancelab.training import train

    tmp = tmp_path_factory.mktemp("props")
    model = train(compose([*fixture_overrides(tmp), "tracking=off"])).extras["model"]
    check = pd.DataFrame({"text": ["Rome ruled out troops."], "target": [MAIN]})
    persistence.save_folder(model, tmp / "m", {"default_target": MAIN}, check)
    return [load(str(tmp / "m"), engine=e) for e in ("sklearn", "lite")]


@SETTINGS
@given(rows=texts, batch=st.integers(min_value=1, max_value=7))
def test_prediction_keeps_every_row_in_order(predictors, tmp_path, rows, batch):
    for predictor in predictors:
        records = list(predictor.iter_records(rows, MAIN, batch_size=batch))
        assert [r["text"] for r in records] == [t[: predictor.max_chars] for t in rows]
        assert all(r["stance"] in predictor.classes for r in records)
        out = tmp_path / "out.jsonl"
        assert write_predictions(iter(records), str(out), predictor.classes) == len(rows)
        lines = out.read_text(encoding="utf-8").split("\n")[:-1]  # JSONL: records end at \n
        back = [json.loads(line) for line in lines]
        assert [r["text"] for r in back] == [r["text"] for r in records]
