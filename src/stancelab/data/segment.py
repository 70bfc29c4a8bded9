"""Article ingestion: raw article text → clean sentences ready to annotate.

Pages copied from the web carry residue ("ARTICLE AD BOX", "Read more" glued to the next
sentence). It is removed with the same patterns the dataset builder uses, paragraph by
paragraph, and each paragraph is split into sentences by pySBD, a rule-based segmenter that
knows abbreviations, quotes and numbers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from stancelab.data.normalize import clean_text
from stancelab.errors import StancelabError

DEFAULT_RESIDUE = ("ARTICLE AD BOX", r"Read more(?=[A-Z\s]|$)", r"Advertisement(?=[A-Z\s]|$)")


@lru_cache(maxsize=4)
def _segmenter(language: str):
    import pysbd

    return pysbd.Segmenter(language=language, clean=False)


def segment_text(
    text: str, language: str = "en", residue: Sequence[str] = DEFAULT_RESIDUE
) -> list[str]:
    """Sentences of an article, residue removed, in reading order."""
    sentences = []
    for paragraph in text.splitlines():
        paragraph = clean_text(paragraph, residue)
        if not paragraph:
            continue
        for sentence in _segmenter(language).segment(paragraph):
            sentence = sentence.strip()
            if sentence:
                sentences.append(sentence)
    return sentences


def segment_file(
    path: Path, language: str = "en", residue: Sequence[str] = DEFAULT_RESIDUE
) -> list[str]:
    from stancelab.io import read_utf8

    return segment_text(read_utf8(path), language, residue)


def write_annotation_file(
    sentences: Sequence[str],
    source: Path,
    output: str | None,
    fmt: str = "jsonl",
    target: str = "troop deployment to Ukraine",
) -> str:
    """Write sentences as stancelab JSONL (stance left empty) or a Label Studio import file.

    Returns the path written, or the file's content when ``output`` is None.
    """
    doc_id = source.stem
    if fmt == "jsonl":
        lines = [
            json.dumps(
                {
                    "id": f"{doc_id}-s{i:02d}",
                    "doc_id": doc_id,
                    "text": s,
                    "target": target,
                    "stance": None,
                    "speaker": None,
                },
                ensure_ascii=False,
            )
            for i, s in enumerate(sentences, start=1)
        ]
        content = "\n".join(lines) + "\n"
    elif fmt == "label_studio":
        tasks = [
            {"id": i, "data": {"text": s, "target": target, "doc_id": doc_id}}
            for i, s in enumerate(sentences, start=1)
        ]
        content = json.dumps(tasks, ensure_ascii=False, indent=1) + "\n"
    else:
        raise StancelabError(f"unknown output format '{fmt}' (jsonl or label_studio)")
    if output is None:
        return content
    Path(output).write_text(content, encoding="utf-8")
    return output
