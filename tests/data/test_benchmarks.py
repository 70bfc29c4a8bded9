"""The benchmark datasets read in place through config; skipped when the data is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import ROOT
from stancelab.config import compose
from stancelab.data.build import prepare

BENCHMARKS = Path(os.environ.get("STANCELAB_BENCHMARKS", ROOT.parent / "shared" / "benchmarks"))
needs_data = pytest.mark.skipif(
    not (BENCHMARKS / "semeval2016").is_dir(), reason=f"benchmark data not found in {BENCHMARKS}"
)


@pytest.mark.benchmark
@needs_data
def test_semeval2016_reads_the_official_sets():
    prepared = prepare(compose(["dataset=semeval2016"]).dataset)
    sizes = {k: len(v) for k, v in prepared.splits.items()}
    assert sizes["train"] + sizes["validation"] == 2914 and sizes["test"] == 1249
    counts = prepared.report["counts"]["test"]
    assert counts["Atheism"] == {"against": 160, "favor": 32, "none": 28}
    assert not any("#SemST" in r["text"] for r in prepared.splits["test"])


@pytest.mark.benchmark
@needs_data
def test_ibm_claim_stance_keeps_test_topics_unseen():
    prepared = prepare(compose(["dataset=ibm_claim_stance"]).dataset)
    train = prepared.splits["train"] + prepared.splits["validation"]
    assert len(train) == 1039 and len(prepared.splits["test"]) == 1355
    assert not {r["target"] for r in train} & {r["target"] for r in prepared.splits["test"]}
