"""Estimators used by tests through Hydra config (``model._target_=support....``)."""

from __future__ import annotations

import os
import signal

from sklearn.linear_model import LogisticRegression


class SigtermOnFit(LogisticRegression):
    """A logistic regression whose fit delivers a real SIGTERM to its own process."""

    def fit(self, X, y, sample_weight=None):
        os.kill(os.getpid(), signal.SIGTERM)
        return super().fit(X, y, sample_weight)


class FailOnFit(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        raise RuntimeError("deliberate failure")


def lowercase(text: str) -> str:
    """A custom preprocessor: a function skops will not trust by default."""
    return text.lower()
