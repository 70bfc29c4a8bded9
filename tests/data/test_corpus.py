"""Guards on the project corpus in seeds/: schema, ids, duplicates, balance, size, the card."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from conftest import ROOT
from stancelab.config import compose
from stancelab.data.stats import corpus_stats, render_markdown

SEEDS = ROOT / "seeds"
MAIN = "troop deployment to Ukraine"
FIELDS = {"id", "doc_id", "text", "target", "stance", "speaker", "annotator", "phenomena", "notes"}
PHENOMENA = {
    "reported_speech",
    "hedge",
    "refusal_warning",
    "dismissal",
    "conditional",
    "question",
    "mixed",
    "background",
    "other_target",
}
KINDS = {
    "wire",
    "analysis",
    "op-ed",
    "editorial",
    "state-media",
    "briefing",
    "parliamentary",
    "interview",
    "feature",
    "explainer",
    "live-blog",
    "speech",
    "letter",
}


def load(pattern: str) -> list[tuple[Path, int, dict]]:
    rows = []
    for path in sorted(SEEDS.glob(pattern)):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            rows.append((path, lineno, json.loads(line)))
    return rows


@pytest.fixture(scope="module")
def sentences():
    return load("corpus/*.jsonl")


@pytest.fixture(scope="module")
def documents():
    return {row["doc_id"]: row for _, _, row in load("documents/*.jsonl")}


@pytest.fixture(scope="module")
def stats():
    return corpus_stats(compose())


def test_every_record_follows_the_schema(sentences):
    for path, lineno, row in sentences:
        where = f"{path.name}:{lineno}"
        assert set(row) == FIELDS, where
        assert row["stance"] in {"favor", "against", "none"}, where
        assert isinstance(row["text"], str) and row["text"].strip(), where
        assert row["speaker"] is None or isinstance(row["speaker"], str), where
        assert set(row["phenomena"]) <= PHENOMENA, where
        assert path.stem == row["doc_id"], where


def test_ids_are_unique_and_every_sentence_of_every_document_is_annotated(sentences, documents):
    ids = [row["id"] for _, _, row in sentences]
    assert len(ids) == len(set(ids))
    by_doc = defaultdict(list)
    for _, _, row in sentences:
        by_doc[row["doc_id"]].append(row)
    assert set(by_doc) == set(documents)
    for doc_id, rows in by_doc.items():
        numbers = [
            int(re.fullmatch(rf"{re.escape(doc_id)}-s(\d+)", r["id"]).group(1)) for r in rows
        ]
        assert numbers == list(range(1, len(rows) + 1)), doc_id
        assert {r["target"] for r in rows} == {documents[doc_id]["target"]}, doc_id


def test_document_metadata_is_complete(documents):
    for doc_id, doc in documents.items():
        assert doc["kind"] in KINDS, doc_id
        assert re.fullmatch(r"20(22|23|24|25|26)-\d\d-\d\d", doc["date"]), doc_id
        assert doc["split"] in {"train", "test"} and doc["title"] and doc["outlet_style"]


def test_no_duplicate_or_near_duplicate_sentences(sentences, stats):
    assert stats["duplicates_removed"] == {"exact": 0, "normalized": 0, "conflicting": 0}
    from sklearn.feature_extraction.text import CountVectorizer

    texts = [row["text"] for _, _, row in sentences]
    for analyzer, n, limit in (("word", 3, 0.5), ("char", 5, 0.6)):
        vec = CountVectorizer(analyzer=analyzer, ngram_range=(n, n), binary=True)
        X = vec.fit_transform(texts)
        sizes = X.sum(axis=1).A1
        inter = (X @ X.T).tocoo()
        for i, j, shared in zip(inter.row, inter.col, inter.data, strict=True):
            if i < j:
                jaccard = shared / (sizes[i] + sizes[j] - shared)
                assert jaccard < limit, (analyzer, texts[i], texts[j])


def test_corpus_size_and_balance(stats, documents):
    written = [d for d in documents if not d.startswith("seed")]
    assert len(written) >= 150
    assert stats["sentences"] >= 2500
    assert sum(stats["per_target"][MAIN].values()) >= 1500
    assert len(stats["per_target"]) >= 3
    assert min(stats["main_target_shares"].values()) >= 0.25
    assert stats["main_target_hard_share"] >= 0.20
    assert stats["speakers"] >= 50
    assert len(stats["documents_by_kind"]) >= 7
    assert Counter(d["split"] for d in documents.values())["test"] >= 20


def test_seed_article_is_one_document_of_the_corpus(documents):
    assert documents["seed-000"]["source"] == "seeds/articles/000_7c462d476a23d359.txt"
    assert (
        (SEEDS / "articles" / "000_7c462d476a23d359.txt").read_text().startswith("ARTICLE AD BOX")
    )


def test_corpus_card_tables_match_the_files(stats):
    card = (SEEDS / "README.md").read_text(encoding="utf-8")
    block = card.split("<!-- stats:begin -->\n", 1)[1].split("<!-- stats:end -->", 1)[0]
    assert block.strip() == render_markdown(stats).strip()
