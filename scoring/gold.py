"""Gold-call candidates: calls worth keeping as examples for the team."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .metrics import SpeechMetrics
from .scorecard import Scorecard

GOLD_CLASSES: tuple[str, ...] = ("lead", "upsell")
POSITIVE_OUTCOMES: tuple[str, ...] = ("sale", "next_step")


@dataclass(frozen=True)
class GoldCandidate:
    """A call proposed for the gold fund, with the reasons a head of sales can check."""

    checklist_id: str
    checklist_version: str
    score: float
    call_class: str
    outcome: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _field(classification: Any, *names: str) -> Any:
    for name in names:
        if isinstance(classification, dict):
            if name in classification:
                return classification[name]
        elif hasattr(classification, name):
            return getattr(classification, name)
    return None


def gold_candidate(
    scorecards: Scorecard | Sequence[Scorecard],
    classification: Any,
    metrics: SpeechMetrics | None = None,
    *,
    min_score: float = 85.0,
) -> GoldCandidate | None:
    """Whether a call is a gold-call candidate, and why.

    A candidate has a scorecard with total score >= ``min_score`` and no critical failure,
    class "lead" or "upsell" and a positive outcome ("sale" or "next_step").

    Args:
        scorecards: one scorecard or several (the best qualifying one is used).
        classification: the classifier's result, a dataclass/object or a dict with
            ``call_class`` (or ``class``) and ``outcome``.
        metrics: speech metrics; metrics within their norms are listed among the reasons.
        min_score: minimum total score, 0-100.

    Returns:
        The candidate with its reasons, or None when the call does not qualify.
    """
    if not 0.0 <= min_score <= 100.0:
        raise ValueError(f"min_score must be between 0 and 100, got {min_score}")
    cards = [scorecards] if isinstance(scorecards, Scorecard) else list(scorecards)
    if classification is None:
        return None
    call_class = _field(classification, "call_class", "class")
    outcome = _field(classification, "outcome")
    if call_class not in GOLD_CLASSES or outcome not in POSITIVE_OUTCOMES:
        return None
    eligible = [c for c in cards if c.total_score is not None and c.total_score >= min_score
                and not c.critical_failures]
    if not eligible:
        return None
    best = max(eligible, key=lambda c: c.total_score or 0.0)
    passed = sum(1 for v in best.items if v.status == "passed")
    applicable = sum(1 for v in best.items if v.status != "not_applicable")
    reasons = [
        f"score {best.total_score:g} ≥ {min_score:g} on {best.checklist_id} v{best.checklist_version} "
        f"({passed} of {applicable} items passed)",
        f"class {call_class}",
        f"outcome {outcome}",
        "no critical item failed",
    ]
    if metrics is not None:
        manager = metrics.speaker("manager")
        if not metrics.flags:
            reasons.append("speech metrics within norms")
        else:
            reasons.append("speech flags to review: " + ", ".join(metrics.flag_codes()))
        if manager is not None:
            reasons.append(f"manager talk share {manager.talk_share:.0%}, {manager.words_per_minute:.0f} words/min, "
                           f"{manager.questions} question(s)")
    return GoldCandidate(
        checklist_id=best.checklist_id,
        checklist_version=best.checklist_version,
        score=float(best.total_score or 0.0),
        call_class=str(call_class),
        outcome=str(outcome),
        reasons=tuple(reasons),
    )
