"""Guards on the project corpus in seeds/: schema, ids, duplicates, balance, size, the card."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

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


OUTLET_KINDS = {"western_news", "ukrainian", "russian_state", "opinion", "other"}
HOLDOUT = ROOT.parent / "shared" / "holdout-pages.txt"


def news(documents: dict) -> dict:
    return {d: m for d, m in documents.items() if m.get("origin") == "news-derived"}


def test_document_metadata_is_complete(documents):
    for doc_id, doc in documents.items():
        assert doc["kind"] in KINDS, doc_id
        assert doc["split"] in {"train", "test", "real_dev"} and doc["title"], doc_id
        assert doc["outlet_style"], doc_id
        if doc.get("origin") == "news-derived":
            assert re.fullmatch(r"20(1[4-9]|2[0-6])-\d\d-\d\d", doc["date"]), doc_id
            assert doc["outlet"] and doc["outlet_kind"] in OUTLET_KINDS, doc_id
            assert doc["derived_from"].startswith(("http://", "https://")), doc_id
            assert doc["split"] in {"train", "real_dev"}, doc_id
        else:
            assert re.fullmatch(r"20(22|23|24|25|26)-\d\d-\d\d", doc["date"]), doc_id
            assert doc["split"] in {"train", "test"}, doc_id


def _page(url: str) -> str:
    parts = urlsplit(url.strip())
    return parts.netloc.lower().removeprefix("www.") + parts.path.rstrip("/")


def _slug(url: str) -> set[str]:
    stop = {
        "the",
        "and",
        "for",
        "says",
        "said",
        "with",
        "html",
        "htm",
        "news",
        "world",
        "amp",
        "php",
        "www",
        "com",
        "article",
        "story",
    }
    return set(re.findall(r"[a-z]{3,}", urlsplit(url).path.lower())) - stop


@pytest.mark.skipif(not HOLDOUT.exists(), reason="no shared/holdout-pages.txt beside the repo")
def test_no_document_derives_from_a_holdout_page_or_a_reprint_of_one(documents):
    lines = HOLDOUT.read_text(encoding="utf-8").splitlines()
    holdout = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    pages = {_page(u) for u in holdout}
    slugs = [_slug(u) for u in holdout]
    for doc_id, doc in news(documents).items():
        url = doc["derived_from"]
        assert _page(url) not in pages, (doc_id, url)
        words = _slug(url)
        for other in slugs:
            if len(words) >= 4 and len(other) >= 4:
                assert len(words & other) / len(words | other) < 0.6, (doc_id, url)


def test_news_derived_documents_hold_up_the_counts(documents, stats):
    docs = news(documents)
    assert len(docs) >= 150
    pages = [_page(d["derived_from"]) for d in docs.values()]
    assert len(pages) == len(set(pages)), "a page used twice"
    figures = stats["news_derived"]
    assert figures["documents"] == len(docs)
    assert figures["main_target_sentences"] >= 2500
    shares = {k: v / len(docs) for k, v in figures["documents_by_outlet_kind"].items()}
    for kind in ("western_news", "ukrainian", "russian_state", "opinion"):
        assert shares[kind] >= 0.15, (kind, shares)
    assert {"2022", "2023", "2024", "2025", "2026"} <= set(figures["documents_by_year"])
    real_dev = [d for d, m in documents.items() if m["split"] == "real_dev"]
    assert len(real_dev) >= 40 and set(real_dev) <= set(docs)
    assert figures["real_dev"]["documents"] == len(real_dev)


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
    """The written batches were balanced by brief; news-derived labels fall as they fall."""
    written = [d for d in documents if d.startswith("b")]
    assert len(written) >= 150
    assert stats["sentences"] >= 2500
    assert sum(stats["per_target"][MAIN].values()) >= 1500
    assert len(stats["per_target"]) >= 3
    assert min(stats["main_target_shares"].values()) >= 0.15
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
