"""Optional semantic matching of checklist items with a sentence-embedding model.

Off by default. A transformers encoder is imported only when asked for; the lemma/fuzzy matcher
works without it. The backend follows the pipeline split: preprocess -> forward -> postprocess
(mean pooling over the attention mask, L2 normalisation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .scorecard import Evidence

if TYPE_CHECKING:
    from callqa.types import Segment

    from .checklist import TimeWindow
    from .matcher import CallIndex

logger = logging.getLogger(__name__)

Encoder = Callable[[list[str]], np.ndarray]


class SemanticUnavailableError(ImportError):
    """transformers (or the model) is missing for semantic matching."""


@lru_cache(maxsize=4)
def load_transformers_encoder(model: str, device: str = "cpu", batch_size: int = 32) -> Encoder:
    """An encoder ``list[str] -> float32 array (n, dim)`` from a transformers model.

    Args:
        model: local folder or hub id of a sentence-embedding model (e.g. a multilingual
            MiniLM/E5 checkpoint). Hub ids need the model in the local HF cache when offline.
        device: "cpu", "cuda" or "auto".
        batch_size: sentences per forward pass.

    Raises:
        SemanticUnavailableError: transformers is not installed or the model cannot be loaded.
    """
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise SemanticUnavailableError(
            "semantic matching needs the 'transformers' package: pip install 'callqa[semantic]' "
            "(or set ScoringOptions.semantic_model=None to use the lemma/fuzzy matcher only)"
        ) from exc
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
        network = AutoModel.from_pretrained(model).to(device).eval()
    except (OSError, ValueError) as exc:
        raise SemanticUnavailableError(
            f"cannot load sentence-embedding model {model!r}: {exc}. Provide it as a local folder, "
            "put it in the Hugging Face cache, or turn semantic matching off (semantic_model=None)"
        ) from exc

    def encode(texts: list[str]) -> np.ndarray:
        out = []
        for begin in range(0, len(texts), batch_size):
            batch = tokenizer(texts[begin:begin + batch_size], padding=True, truncation=True,
                              max_length=128, return_tensors="pt").to(device)  # preprocess
            with torch.inference_mode():
                hidden = network(**batch).last_hidden_state  # forward
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # postprocess: mean pooling
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(pooled.float().cpu().numpy())
        return np.concatenate(out, axis=0) if out else np.zeros((0, 1), np.float32)

    logger.info("loaded sentence-embedding model %s on %s", model, device)
    return encode


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"encoder must return shape (n_texts, dim), got {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class SemanticMatcher:
    """Finds the utterance most similar to an item's example phrases (cosine >= threshold)."""

    def __init__(self, encode: Encoder, threshold: float) -> None:
        self.encode = encode
        self.threshold = threshold
        self._phrase_cache: dict[str, np.ndarray] = {}

    def _phrases(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self._phrase_cache]
        if missing:
            for text, vector in zip(missing, _normalise(self.encode(missing)), strict=True):
                self._phrase_cache[text] = vector
        return np.stack([self._phrase_cache[t] for t in texts])

    def _segments(self, index: CallIndex) -> np.ndarray:
        key = ("semantic", id(self))
        cached = index.semantic_cache.get(key)
        if cached is None:
            texts = [s.text.strip() or "." for s in index.segments]
            cached = _normalise(self.encode(texts)) if texts else np.zeros((0, 1), np.float32)
            index.semantic_cache[key] = cached
        return cached

    def find(self, texts: list[str], index: CallIndex, role: str, window: TimeWindow | None,
             after_s: float = 0.0) -> Evidence | None:
        from .matcher import in_window

        if not texts or not index.segments:
            return None
        candidates = [
            i for i, (seg, r) in enumerate(zip(index.segments, index.segment_roles, strict=True))
            if (role == "any" or r == role) and seg.text.strip() and seg.end_s > after_s
            and in_window(seg.start_s, seg.end_s, window, index.duration_s)
        ]
        if not candidates:
            return None
        similarity = self._segments(index)[candidates] @ self._phrases(texts).T  # (n_candidates, n_texts)
        best = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
        score = float(similarity[best])
        if score < self.threshold:
            return None
        segment: Segment = index.segments[candidates[best[0]]]
        seg_role = index.segment_roles[candidates[best[0]]]
        return Evidence(
            quote=segment.text.strip()[:240],
            matched=segment.text.strip(),
            start_s=round(segment.start_s, 3),
            end_s=round(segment.end_s, 3),
            speaker=segment.speaker or seg_role,
            role=seg_role,
            pattern=texts[best[1]],
            method="semantic",
            score=round(score, 3),
        )


def build_semantic_matcher(model: str | None, encoder: Encoder | None, threshold: float,
                           device: str = "cpu") -> SemanticMatcher | None:
    """The matcher ScoringOptions ask for, or None when semantic matching is off."""
    if encoder is not None:
        return SemanticMatcher(encoder, threshold)
    if model is None:
        return None
    return SemanticMatcher(load_transformers_encoder(model, device), threshold)
