from __future__ import annotations

import json

from conftest import ROOT
from stancelab.data.segment import segment_file, segment_text, write_annotation_file

SEED = ROOT / "seeds" / "articles" / "000_7c462d476a23d359.txt"


def test_seed_article_segments_into_its_annotated_sentences_without_residue():
    sentences = segment_file(SEED)
    annotated = [
        json.loads(line)["text"]
        for line in (ROOT / "seeds" / "corpus" / "seed-000.jsonl").read_text().splitlines()
    ]
    assert sentences == annotated
    assert not any("ARTICLE AD BOX" in s or "Read more" in s for s in sentences)
    assert sentences[10].startswith("During his trip to Kiev")
    assert sentences[9].startswith("According to the BBC")


def test_abbreviations_and_quotes_do_not_split_sentences():
    text = "Mr. Healey met Gen. Smith in Kyiv. He said: “We will see.” Then he left."
    assert segment_text(text) == [
        "Mr. Healey met Gen. Smith in Kyiv.",
        "He said: “We will see.”",
        "Then he left.",
    ]


def test_annotation_files_in_both_formats(tmp_path):
    out = write_annotation_file(["One.", "Two."], SEED, None)
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[1]["id"] == f"{SEED.stem}-s02" and rows[1]["stance"] is None
    path = write_annotation_file(["One."], SEED, str(tmp_path / "ls.json"), fmt="label_studio")
    tasks = json.loads((tmp_path / "ls.json").read_text())
    assert path.endswith("ls.json") and tasks[0]["data"]["text"] == "One."
