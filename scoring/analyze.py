"""analyze_call: classification, speech metrics, checklist scorecards, personal data, gold flag."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from callqa.types import Transcript

from .checklist import Checklist
from .gold import GoldCandidate, gold_candidate
from .matcher import CallIndex, ItemMatcher, applies
from .metrics import SpeechMetrics, compute_metrics, segment_roles
from .options import CallContext, ScoringOptions
from .pii import PiiSpan, find_pii
from .scorecard import (
    FLAG_EMPTY,
    FLAG_ONE_SPEAKER,
    FLAG_ROLES_UNKNOWN,
    ItemVerdict,
    Scorecard,
    aggregate,
)
from .semantic import SemanticMatcher, build_semantic_matcher
from .text import tokenize

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallAnalysis:
    """Everything scoring says about one call.

    Attributes:
        scorecards: one per applicable checklist.
        metrics: speech metrics with their flags.
        classification: the classifier's result (None without a classifier).
        pii_spans: personal data found in the transcript.
        gold: gold-call candidate with reasons, or None.
        skipped_checklists: checklists that did not apply, with the reason.
        flags: call-level conditions (empty_transcript, one_speaker, roles_unknown).
    """

    scorecards: list[Scorecard]
    metrics: SpeechMetrics
    classification: Any
    pii_spans: list[PiiSpan]
    gold: GoldCandidate | None
    context: CallContext
    skipped_checklists: list[dict[str, str]] = field(default_factory=list)
    flags: tuple[str, ...] = ()

    def scorecard(self, checklist_id: str) -> Scorecard:
        for card in self.scorecards:
            if card.checklist_id == checklist_id:
                return card
        raise KeyError(f"no scorecard for checklist {checklist_id!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (no numpy types, no tuples, no NaN)."""
        return {
            "scorecards": [_jsonable(c.to_dict()) for c in self.scorecards],
            "metrics": _jsonable(self.metrics.to_dict()),
            "classification": _jsonable(self.classification),
            "pii_spans": [_jsonable(s.to_dict()) for s in self.pii_spans],
            "gold": _jsonable(self.gold.to_dict()) if self.gold else None,
            "context": self.context.to_dict(),
            "skipped_checklists": [dict(s) for s in self.skipped_checklists],
            "flags": list(self.flags),
        }


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return _jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    return str(value)


@lru_cache(maxsize=1)
def _default_classifier() -> Any:
    """The classifier from ``callqa.scoring.classify`` when that module and its model exist."""
    try:
        module = importlib.import_module("callqa.scoring.classify")
    except ImportError as exc:
        logger.info("no default call classifier (%s); calls are not classified", exc)
        return None
    loader = getattr(module, "load_default_classifier", None)
    if loader is None:
        logger.info("callqa.scoring.classify has no load_default_classifier; calls are not classified")
        return None
    try:
        return loader()
    except Exception as exc:  # a missing or broken model must not stop scoring
        logger.warning("default call classifier could not be loaded: %s", exc)
        return None


def _call_class(classification: Any) -> str | None:
    if classification is None:
        return None
    if isinstance(classification, dict):
        value = classification.get("call_class", classification.get("class"))
    else:
        value = getattr(classification, "call_class", None)
    return str(value) if value is not None else None


@lru_cache(maxsize=8)
def _semantic(model: str | None, encoder: Any, threshold: float, device: str) -> SemanticMatcher | None:
    return build_semantic_matcher(model, encoder, threshold, device)


def score_checklist(
    checklist: Checklist,
    index: CallIndex | None,
    *,
    context: CallContext,
    call_class: str | None,
    options: ScoringOptions,
    roles_unknown: bool = False,
    one_speaker: bool = False,
    semantic: SemanticMatcher | None = None,
) -> Scorecard:
    """Score one call (already indexed; None for an empty transcript) against one checklist."""
    flags: list[str] = []
    notes: list[str] = []
    verdicts: list[ItemVerdict] = []
    if index is None:
        flags.append(FLAG_EMPTY)
        notes.append("the transcript has no speech, so nothing could be checked")
        for stage, item in checklist.items():
            verdicts.append(ItemVerdict(item.id, stage.id, item.title, "not_applicable", "empty transcript",
                                        weight=item.weight, critical=item.critical))
    else:
        if roles_unknown:
            flags.append(FLAG_ROLES_UNKNOWN)
            notes.append("speaker roles are unknown: every item was checked against all speech")
        if one_speaker:
            flags.append(FLAG_ONE_SPEAKER)
            notes.append("only one party speaks in this call; items for the other party do not apply")
        matcher = ItemMatcher(checklist.compiled, index, context, options, roles_unknown, semantic)
        verdicts = [matcher.evaluate(stage, item, call_class) for stage, item in checklist.items()]
    cap = checklist.critical_cap if checklist.critical_cap is not None else options.critical_cap
    return aggregate(
        checklist_id=checklist.id,
        checklist_version=checklist.version,
        checklist_title=checklist.title,
        stage_meta=[(s.id, s.title, s.weight) for s in checklist.stages],
        verdicts=verdicts,
        critical_cap=cap,
        flags=flags,
        notes=notes,
    )


def analyze_call(
    transcript: Transcript,
    *,
    context: CallContext,
    checklists: Sequence[Checklist],
    audio: np.ndarray | None = None,
    sample_rate_hz: int = 16000,
    options: ScoringOptions | None = None,
    classifier: Any = None,
) -> CallAnalysis:
    """Score one call: metrics, classification, a scorecard per applicable checklist, PII, gold.

    Args:
        transcript: speaker-attributed transcript (segment roles "manager"/"client").
        context: facts about the call (direction, lead form, company names...).
        checklists: loaded checklists; those whose ``applies_to`` rejects the call are skipped.
        audio: optional float array, shape (n_samples,) or (n_channels, n_samples), for prosody.
        sample_rate_hz: rate of ``audio``.
        options: scoring options (defaults: ScoringOptions()).
        classifier: object with ``predict(transcript, metrics)`` returning a classification with
            ``call_class`` and ``outcome``; when None, ``callqa.scoring.classify.load_default_classifier``
            is used if it exists.

    Returns:
        CallAnalysis.

    Raises:
        ValueError: wrong argument types (not a Transcript, not Checklists, bad audio shape).
    """
    if not isinstance(transcript, Transcript):
        raise ValueError(f"transcript must be a callqa.types.Transcript, got {type(transcript).__name__}")
    if not isinstance(context, CallContext):
        raise ValueError(f"context must be a CallContext, got {type(context).__name__}")
    if isinstance(checklists, Checklist):
        checklists = [checklists]
    bad = [type(c).__name__ for c in checklists if not isinstance(c, Checklist)]
    if bad:
        raise ValueError(f"checklists must be Checklist objects (see load_checklists), got {', '.join(bad)}")
    options = options or ScoringOptions()

    roles = segment_roles(transcript)
    spoken = [r for s, r in zip(transcript.segments, roles, strict=True) if s.text.strip()]
    empty = not spoken
    segment_tokens = [tokenize(s.text) for s in transcript.segments]  # shared by metrics and PII
    metrics = compute_metrics(transcript, audio=audio, sample_rate_hz=sample_rate_hz, norms=options.norms,
                              roles=roles, segment_tokens=segment_tokens)

    if classifier is None and options.use_default_classifier:
        classifier = _default_classifier()
    classification = None
    if classifier is not None and not empty:
        # The shipped classifier resolves weekday call-back deadlines from the call's start.
        wants_start = context.started_at is not None and "started_at" in inspect.signature(classifier.predict).parameters
        extra = {"started_at": context.started_at} if wants_start else {}
        classification = classifier.predict(transcript, metrics, **extra)
    call_class = _call_class(classification)

    present = set(spoken)
    roles_unknown = not empty and not (present & {"manager", "client"})
    one_speaker = not empty and not roles_unknown and len(present & {"manager", "client"}) == 1
    call_flags = [f for f, on in ((FLAG_EMPTY, empty), (FLAG_ROLES_UNKNOWN, roles_unknown),
                                  (FLAG_ONE_SPEAKER, one_speaker)) if on]
    index = None if empty else CallIndex(transcript, roles)
    semantic = _semantic(options.semantic_model, options.semantic_encoder, options.semantic_threshold,
                         options.semantic_device) if options.semantic_enabled and not empty else None

    scorecards: list[Scorecard] = []
    skipped: list[dict[str, str]] = []
    for checklist in checklists:
        ok, why = applies(checklist.applies_to, context, call_class, options.unknown_policy)
        if not ok:
            skipped.append({"checklist_id": checklist.id, "checklist_version": checklist.version, "reason": why})
            continue
        scorecards.append(score_checklist(checklist, index, context=context, call_class=call_class,
                                          options=options, roles_unknown=roles_unknown,
                                          one_speaker=one_speaker, semantic=semantic))

    pii_spans = find_pii(transcript, segment_tokens) if options.find_pii else []
    gold = gold_candidate(scorecards, classification, metrics, min_score=options.gold_min_score) \
        if scorecards else None
    return CallAnalysis(
        scorecards=scorecards,
        metrics=metrics,
        classification=classification,
        pii_spans=pii_spans,
        gold=gold,
        context=context,
        skipped_checklists=skipped,
        flags=tuple(call_flags),
    )
