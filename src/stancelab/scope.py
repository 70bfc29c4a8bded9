"""Negation and report scopes, marked: the text side of ``features.ScopeMarker``.

Kept free of scikit-learn so that the NumPy-only copy of a model (stancelab.lite) can mark
scopes exactly as the fitted pipeline does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

# ScopeMarker's default cues (conf/features/word_char_scope.yaml may override them).
DEFAULT_NEGATION = (
    r"not|no|never|nor|nothing|nobody|without|cannot|\w+n't|rul(?:e|es|ed|ing) out|"
    r"reject(?:s|ed|ing)?|den(?:y|ies|ied|ying)|refus(?:e|es|ed|ing)|"
    r"dismiss(?:es|ed|ing)?|against|oppos(?:e|es|ed|ing)"
)
DEFAULT_REPORT = (
    r"(?:claims?|suggestions?|reports?|allegations?|rumou?rs?|speculation|"
    r"accusations?|fears?|ideas?|calls?|proposals?)\s+(?:that|of|to|for)"
)
DEFAULT_CLAUSE_END = r"[,.;:!?()\"“”]|\b(?:but|however|while|although|yet|whereas)\b"


@lru_cache(maxsize=8)
def _scope_patterns(negation: str, report: str, clause_end: str) -> tuple[Any, Any]:
    cue = re.compile(rf"\b(?:(?P<neg>{negation})|(?P<rep>{report}))\b", re.IGNORECASE)
    return cue, re.compile(clause_end, re.IGNORECASE)


def mark_scopes(
    texts: Sequence[str],
    negation: str = DEFAULT_NEGATION,
    report: str = DEFAULT_REPORT,
    clause_end: str = DEFAULT_CLAUSE_END,
    max_words: int = 8,
) -> list[str]:
    """For each text, the words in the scope of each cue, prefixed ``neg_`` or ``rep_``.

    A negated negation ("did not rule out", "refused to deny") marks its scope ``dneg_``:
    it is the hedge that reads as openness, the opposite of a plain refusal.
    """
    cue, end = _scope_patterns(negation, report, clause_end)
    out = []
    for text in texts:
        marked: list[str] = []
        matches = list(cue.finditer(text))
        skip = -1
        for i, match in enumerate(matches):
            if i == skip:
                continue
            prefix = "neg_" if match.group("neg") else "rep_"
            scope_start = match.end()
            nxt = matches[i + 1] if i + 1 < len(matches) else None
            if (
                prefix == "neg_"
                and nxt is not None
                and nxt.group("neg")
                and _DOUBLE_GAP.fullmatch(text[match.end() : nxt.start()])
            ):
                prefix, scope_start, skip = "dneg_", nxt.end(), i + 1
            rest = text[scope_start:]
            stop = end.search(rest)
            words = re.findall(r"\w+", rest[: stop.start()] if stop else rest)[:max_words]
            marked += [prefix + "scope", *(prefix + w.lower() for w in words)]
        out.append(" ".join(marked))
    return out


_DOUBLE_GAP = re.compile(
    r"\s*(?:(?:to|even|yet|be|been|being|have|has|had|can|could|should|"
    r"will|would|must|may|might|is|was|are|were)\s+)*",
    re.IGNORECASE,
)
