"""The dataset builder: validation that names file/line/field, caching, the dataset card."""

from __future__ import annotations

import shutil

import datasets
import pytest

from conftest import FIXTURES
from stancelab.config import compose
from stancelab.data.build import build_dataset
from stancelab.errors import DataValidationError


@pytest.fixture
def corpus(tmp_path):
    """A writable copy of the fixture corpus."""
    shutil.copytree(FIXTURES / "corpus", tmp_path / "seeds" / "corpus")
    shutil.copytree(FIXTURES / "documents", tmp_path / "seeds" / "documents")
    return tmp_path


def dataset_cfg(root):
    return compose([f"paths.seeds={root / 'seeds'}", f"paths.cache={root / 'cache'}"]).dataset


def test_build_gives_grouped_splits_with_classlabel_and_a_card(corpus):
    built = build_dataset(dataset_cfg(corpus))
    ds = built.dataset
    assert isinstance(ds, datasets.DatasetDict)
    assert set(ds) == {"train", "validation", "test", "real_dev"}
    assert set(ds["real_dev"]["doc_id"]) == {"f08"}
    assert ds["train"].features["stance"].names == ["favor", "against", "none"]
    assert set(ds["test"]["doc_id"]) == {"f05", "f06"}
    assert not set(ds["train"]["doc_id"]) & set(ds["validation"]["doc_id"])
    card = (built.path / "README.md").read_text()
    assert "| test | sanctions on Russia | 2 | 1 | 1 | 4 |" in card
    assert "exact duplicates removed: 0" in card and "sha256" in card


def test_second_build_reuses_the_cache_and_one_changed_byte_rebuilds(corpus):
    cfg = dataset_cfg(corpus)
    first = build_dataset(cfg)
    again = build_dataset(cfg)
    assert again.reused and again.path == first.path
    target = corpus / "seeds" / "corpus" / "f02.jsonl"
    data = target.read_bytes()
    target.write_bytes(data.replace(b"eleven pages", b"eleven pagez"))
    changed = build_dataset(cfg)
    assert not changed.reused and changed.fingerprint != first.fingerprint
    texts = [t for split in changed.dataset.values() for t in split["text"]]
    assert "The summit communique ran to eleven pagez." in texts


def test_config_change_rebuilds(corpus):
    cfg = dataset_cfg(corpus)
    first = build_dataset(cfg)
    cfg.text.min_chars = 40
    second = build_dataset(cfg)
    assert second.fingerprint != first.fingerprint
    assert second.report["too_short"] > 0


def test_broken_files_give_one_located_message_each_and_write_nothing(tmp_path):
    cache = tmp_path / "cache"
    cfg = compose([f"paths.cache={cache}"]).dataset
    cfg.sources = [{"format": "stancelab", "paths": [str(FIXTURES / "broken" / "*.jsonl")]}]
    with pytest.raises(DataValidationError) as info:
        build_dataset(cfg)
    message = str(info.value)
    broken = FIXTURES / "broken"
    for expected in (
        f"{broken}/sentences.jsonl:2: field 'stance': unknown label 'maybe'",
        f"{broken}/sentences.jsonl:3: field 'text': empty text",
        f"{broken}/sentences.jsonl:4: field 'text': missing field",
        f"{broken}/sentences.jsonl:5: malformed JSON",
        f"{broken}/sentences.jsonl:6: field 'id': id 'b1' is already used",
        f"{broken}/latin1.jsonl:1: invalid utf-8 bytes",
    ):
        assert expected in message, expected
    assert message.startswith("6 problem(s)")
    assert not cache.exists()


def test_duplicates_are_removed_and_reported(corpus):
    extra = corpus / "seeds" / "corpus" / "f08.jsonl"
    extra.write_text(
        '{"id": "f08-s01", "doc_id": "f08", "text": "The talks lasted four hours!", '
        '"target": "troop deployment to Ukraine", "stance": "none", '
        '"split": "train"}\n'
    )
    built = build_dataset(dataset_cfg(corpus))
    assert built.report["duplicates"]["normalized"] == 1
    assert "normalised duplicates removed: 1" in (built.path / "README.md").read_text()


def test_records_convert_in_chunks_and_can_be_released(monkeypatch):
    from stancelab.data import build

    monkeypatch.setattr(build, "CHUNK", 3)
    labels = ["favor", "against", "none"]
    recs = [
        {
            "id": None if i % 2 else f"r{i}",
            "doc_id": f"d{i // 4}",
            "text": f"sentence {i}",
            "target": "t",
            "stance": labels[i % 3],
            "speaker": None,
        }
        for i in range(8)
    ]
    kept = build.to_dataset_dict({"train": list(recs)}, labels)
    splits = {"train": list(recs)}
    released = build.to_dataset_dict(splits, labels, release=True)
    assert splits["train"] == []  # the records are gone once converted
    for dsd in (kept, released):
        train = dsd["train"]
        assert train["text"] == [f"sentence {i}" for i in range(8)]
        assert train["id"] == [f"r{i}" if i % 2 == 0 else f"train-{i}" for i in range(8)]
        assert train.features["stance"].int2str(train["stance"]) == [r["stance"] for r in recs]


def test_concurrent_builds_of_one_dataset_all_succeed_and_agree(corpus):
    """Workers of a parallel sweep build the same dataset at once: none may delete the folder
    another is reading."""
    from concurrent.futures import ThreadPoolExecutor

    cfg = dataset_cfg(corpus)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: build_dataset(cfg), range(8)))
    assert len({r.path for r in results}) == 1
    assert all(r.dataset["train"]["id"] == results[0].dataset["train"]["id"] for r in results)
