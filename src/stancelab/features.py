"""Feature extractors, as small factories that Hydra's ``instantiate`` can call from config.

They return plain scikit-learn transformers (so saved models hold only standard, trusted types)
and exist only to turn config values into what scikit-learn expects, e.g. YAML lists into the
tuples its parameter validation requires.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.pipeline import Pipeline

from stancelab.scope import (
    DEFAULT_CLAUSE_END,
    DEFAULT_NEGATION,
    DEFAULT_REPORT,
    mark_scopes,
)


def tfidf(
    analyzer: str = "word",
    ngram_range: Sequence[int] = (1, 1),
    **kwargs: Any,
) -> TfidfVectorizer:
    """TF-IDF over word or character n-grams."""
    return TfidfVectorizer(analyzer=analyzer, ngram_range=tuple(ngram_range), **kwargs)


def hashed_tfidf(
    n_features: int = 2**20,
    ngram_range: Sequence[int] = (1, 2),
    lowercase: bool = True,
    sublinear_tf: bool = True,
) -> Pipeline:
    """Hashed n-gram counts re-weighted by TF-IDF: no vocabulary, so memory stays flat."""
    return Pipeline(
        [
            (
                "hash",
                HashingVectorizer(
                    n_features=n_features,
                    ngram_range=tuple(ngram_range),
                    lowercase=lowercase,
                    alternate_sign=False,
                    norm=None,
                ),
            ),
            ("tfidf", TfidfTransformer(sublinear_tf=sublinear_tf)),
        ]
    )


def raw_text() -> str:
    """No feature extraction: the text (and, in the ``joint`` mode, the target) go to the
    model as strings, for models that read raw text themselves (stancelab.finetune)."""
    return "passthrough"


def scoped_tfidf(
    ngram_range: Sequence[int] = (1, 2), max_words: int = 8, **kwargs: Any
) -> Pipeline:
    """TF-IDF over the marked scope words of :class:`ScopeMarker` (no lowercasing needed)."""
    return Pipeline(
        [
            ("scope", ScopeMarker(max_words=max_words)),
            ("tfidf", TfidfVectorizer(ngram_range=tuple(ngram_range), **kwargs)),
        ]
    )


class ScopeMarker(TransformerMixin, BaseEstimator):
    """Rewrite each text as the words inside negation and report scopes, marked.

    n-grams see "ruled out" and "troops" but not that the troops sit inside the refusal, nor
    that "plans to send troops" sits inside "denied claims that ...". This transformer keeps
    only the words that follow a negation cue (``neg_troops``) or a report cue such as "claims
    that" (``rep_troops``), up to the end of the clause, so that a vectorizer after it learns
    from scope as well as from words. Used beside the plain n-grams (``features=word_char_scope``).

    Parameters
    ----------
    negation, report : str
        Regular expressions for the cues (case-insensitive, matched on word boundaries).
    clause_end : str
        Regular expression that ends a scope (punctuation, "but", "however"...).
    max_words : int
        Longest scope, in words.
    """

    def __init__(
        self,
        negation: str = DEFAULT_NEGATION,
        report: str = DEFAULT_REPORT,
        clause_end: str = DEFAULT_CLAUSE_END,
        max_words: int = 8,
    ):
        self.negation = negation
        self.report = report
        self.clause_end = clause_end
        self.max_words = max_words

    def fit(self, X: Any, y: Any = None) -> ScopeMarker:
        return self

    def transform(self, X: Any) -> list[str]:
        return mark_scopes(
            [str(x) for x in X], self.negation, self.report, self.clause_end, self.max_words
        )
