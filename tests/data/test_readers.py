"""Each source format reads into the same record shape, on small files written here."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES
from stancelab.data.readers import (
    read_csv,
    read_doccano,
    read_hf,
    read_ibm_claim_stance,
    read_jsonl,
    read_label_studio,
    read_semeval,
    read_source,
)
from stancelab.errors import StancelabError

MAIN = "troop deployment to Ukraine"


def test_project_jsonl_reads_every_field():
    records, problems = read_jsonl(FIXTURES / "corpus" / "f01.jsonl")
    assert problems == []
    assert len(records) == 8
    first = records[0]
    assert first["id"] == "f01-s01" and first["doc_id"] == "f01" and first["stance"] == "favor"
    assert first["_loc"][1] == 1


def test_jsonl_is_read_by_line_and_bad_bytes_are_located(tmp_path):
    rows = [
        {"id": f"s{i}", "text": t, "target": MAIN, "stance": "none"}
        for i, t in enumerate(["One line\u2028with a line separator inside.", "Two."])
    ]
    path = tmp_path / "a.jsonl"
    # ensure_ascii=False writes U+2028 raw: valid JSON that str.splitlines() would cut in two
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8"
    )
    records, problems = read_jsonl(path)
    assert problems == [] and [r["id"] for r in records] == ["s0", "s1"]
    assert [r["_loc"][1] for r in records] == [1, 2]
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(path.read_bytes() + b'{"id": "s2", "text": "caf\xe9"}\n')
    _, problems = read_jsonl(bad)
    assert [(p.line, p.field) for p in problems] == [(4, None)]
    assert "invalid utf-8 bytes at offset" in problems[0].message


def test_documents_metadata_supplies_the_split():
    source = {
        "format": "stancelab",
        "paths": [str(FIXTURES / "corpus" / "*.jsonl")],
        "documents": [str(FIXTURES / "documents" / "*.jsonl")],
    }
    records, problems, files = read_source(source)
    assert problems == []
    splits = {r["doc_id"]: r["split"] for r in records}
    assert splits["f05"] == "test" and splits["f01"] == "train"
    assert len(files) == 9


def test_csv_and_tsv_with_a_column_map(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('Sentence,Label,Topic\n"Oslo, too, may send troops.",PRO,x\nNo way.,CON,x\n')
    records, problems = read_csv(
        path, column_map={"Sentence": "text", "Label": "stance", "Topic": "target"}
    )
    assert problems == []
    assert [r["text"] for r in records] == ["Oslo, too, may send troops.", "No way."]
    assert records[1]["_loc"] == (str(path), 3)
    tsv = tmp_path / "a.tsv"
    tsv.write_text("text\tstance\nOne.\tfavor\n")
    records, problems = read_csv(tsv, defaults={"target": MAIN})
    assert problems == [] and records[0]["target"] == MAIN


def test_csv_missing_column_is_reported_once(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("sentence,stance\nx,favor\n")
    records, problems = read_csv(path, defaults={"target": MAIN})
    assert records == []
    assert [(p.line, p.field) for p in problems] == [(1, "text")]


def test_label_studio_export_with_two_annotators(tmp_path):
    tasks = [
        {
            "id": 7,
            "data": {"text": "Sweden could join.", "target": MAIN},
            "annotations": [
                {
                    "completed_by": 1,
                    "result": [
                        {"from_name": "stance", "type": "choices", "value": {"choices": ["favor"]}}
                    ],
                },
                {
                    "completed_by": {"email": "b@x"},
                    "result": [
                        {"from_name": "stance", "type": "choices", "value": {"choices": ["none"]}}
                    ],
                },
            ],
        },
        {"id": 8, "data": {"text": "No annotation yet."}, "annotations": []},
    ]
    path = tmp_path / "ls.json"
    path.write_text(json.dumps(tasks))
    records, problems = read_label_studio(path)
    assert [(r["id"], r["annotator"], r["stance"]) for r in records] == [
        ("7", "1", "favor"),
        ("7", "b@x", "none"),
    ]
    assert [(p.line, p.field) for p in problems] == [(2, "annotations")]


def test_doccano_export(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"id": 1, "text": "Send them.", "label": ["favor"]}\n'
        '{"id": 2, "text": "Two labels.", "label": ["favor", "none"]}\n'
    )
    records, problems = read_doccano(path, defaults={"target": MAIN})
    assert [(r["id"], r["stance"], r["target"]) for r in records] == [("1", "favor", MAIN)]
    assert [(p.line, p.field) for p in problems] == [(2, "label")]


def test_semeval_release_format_in_cp1252(tmp_path):
    path = tmp_path / "semeval.txt"
    text = "ID\tTarget\tTweet\tStance\r\n101\tAtheism\tCaf\xe9 prayers #SemST\tAGAINST\r\n"
    path.write_bytes(text.encode("cp1252"))
    records, problems = read_semeval(path)
    assert problems == []
    assert records[0]["text"] == "Café prayers #SemST" and records[0]["target"] == "Atheism"


def test_ibm_claim_stance_derived_csv(tmp_path):
    path = tmp_path / "ibm.csv"
    path.write_text(
        "topic_id,topic_text,claim_id,claim_text,stance\n"
        "1,This house would ban boxing,10,Boxing harms the brain,PRO\n"
    )
    records, problems = read_ibm_claim_stance(path)
    assert problems == []
    assert (
        records[0]["target"],
        records[0]["text"],
        records[0]["stance"],
        records[0]["doc_id"],
    ) == ("This house would ban boxing", "Boxing harms the brain", "PRO", "1")


def test_hugging_face_loader_on_local_files(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("sentence,label\nKeep the option open.,favor\nNever.,against\n")
    test = tmp_path / "test.csv"
    test.write_text("sentence,label\nIt rained.,none\n")
    records, problems = read_hf(
        "csv",
        data_files={"train": str(train), "test": str(test)},
        column_map={"sentence": "text", "label": "stance"},
        defaults={"target": MAIN},
    )
    assert problems == []
    assert [(r["text"], r["split"]) for r in records] == [
        ("Keep the option open.", "train"),
        ("Never.", "train"),
        ("It rained.", "test"),
    ]


def test_hugging_face_errors_are_stancelab_errors(tmp_path):
    with pytest.raises(StancelabError, match="could not load Hugging Face dataset"):
        read_hf(str(tmp_path / "nothing-here"))


def test_unknown_format_and_unmatched_glob(tmp_path):
    with pytest.raises(StancelabError, match="unknown source format 'xml'"):
        read_source({"format": "xml", "paths": []})
    with pytest.raises(StancelabError, match="no input file matches"):
        read_source({"format": "csv", "paths": [str(tmp_path / "*.csv")]})
