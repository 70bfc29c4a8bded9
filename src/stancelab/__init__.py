"""stancelab: train, track and serve stance classifiers for annotated news sentences.

The package root stays light: importing ``stancelab`` does not import scikit-learn, MLflow or
``datasets``. ``stancelab.load`` imports what loading a model needs, when it is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from stancelab.inference import Predictor


def load(uri: str, **kwargs: Any) -> Predictor:
    """Load a saved stance model (``runs:/``, ``models:/``, a folder, or ``best``)."""
    from stancelab.inference import load as _load

    return _load(uri, **kwargs)


__all__ = ["__version__", "load"]
