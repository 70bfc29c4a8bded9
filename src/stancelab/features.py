"""Feature extractors, as small factories that Hydra's ``instantiate`` can call from config.

They return plain scikit-learn transformers (so saved models hold only standard, trusted types)
and exist only to turn config values into what scikit-learn expects, e.g. YAML lists into the
tuples its parameter validation requires.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.pipeline import Pipeline


def tfidf(analyzer: str = "word", ngram_range: Sequence[int] = (1, 1), **kwargs: Any,
          ) -> TfidfVectorizer:
    """TF-IDF over word or character n-grams."""
    return TfidfVectorizer(analyzer=analyzer, ngram_range=tuple(ngram_range), **kwargs)


def hashed_tfidf(n_features: int = 2**20, ngram_range: Sequence[int] = (1, 2),
                 lowercase: bool = True, sublinear_tf: bool = True) -> Pipeline:
    """Hashed n-gram counts re-weighted by TF-IDF: no vocabulary, so memory stays flat."""
    return Pipeline([
        ("hash", HashingVectorizer(n_features=n_features, ngram_range=tuple(ngram_range),
                                   lowercase=lowercase, alternate_sign=False, norm=None)),
        ("tfidf", TfidfTransformer(sublinear_tf=sublinear_tf)),
    ])


def raw_text() -> str:
    """No feature extraction: the text (and, in the ``joint`` mode, the target) go to the
    model as strings, for models that read raw text themselves (stancelab.finetune)."""
    return "passthrough"
