"""Inputs that steer scoring: facts about the call (CallContext) and knobs (ScoringOptions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from callqa.types import DIRECTIONS

from .metrics import MetricNorms

UNKNOWN_POLICIES: tuple[str, ...] = ("apply", "skip")


@dataclass(frozen=True)
class CallContext:
    """What is known about a call besides its audio.

    Attributes:
        direction: "inbound", "outbound" or "unknown".
        source_channel: where the call came from (site, ads, CRM campaign...).
        campaign: advertising or calling campaign name.
        lead_form_left: whether the client left a form/request before the call; None if unknown.
        company_names: names the manager should introduce the company with (fills ``{company}``).
        manager_name: the manager's name (fills ``{manager_name}``).
        started_at: when the call started; resolves weekday call-back deadlines ("в пятницу").
    """

    direction: str = "unknown"
    source_channel: str | None = None
    campaign: str | None = None
    lead_form_left: bool | None = None
    company_names: tuple[str, ...] = ()
    manager_name: str | None = None
    started_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction {self.direction!r} is not one of: {', '.join(DIRECTIONS)}")
        if isinstance(self.company_names, str):
            object.__setattr__(self, "company_names", (self.company_names,))
        else:
            object.__setattr__(self, "company_names", tuple(self.company_names))

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "source_channel": self.source_channel,
            "campaign": self.campaign,
            "lead_form_left": self.lead_form_left,
            "company_names": list(self.company_names),
            "manager_name": self.manager_name,
            "started_at": self.started_at.isoformat() if self.started_at else None,
        }


@dataclass(frozen=True)
class ScoringOptions:
    """Knobs for :func:`callqa.scoring.analyze_call`.

    Attributes:
        critical_cap: total score (0-100) a scorecard is capped at after a critical failure;
            a checklist's own ``critical_cap`` wins over this.
        unknown_policy: what a checklist filtered on direction/class does when the call's
            direction or class is unknown: "apply" (score it anyway) or "skip".
        norms: speech-metric norms the flags are computed against.
        semantic_model: local path or hub id of a sentence-embedding model (transformers); None
            (default) turns semantic matching off.
        semantic_encoder: alternatively, a callable ``list[str] -> float array (n, dim)``.
        semantic_threshold: cosine similarity an utterance needs to pass an item semantically.
        semantic_device: "cpu", "cuda" or "auto" for the transformers model.
        find_pii: whether analyze_call looks for personal data.
        use_default_classifier: when no classifier is passed, use
            ``callqa.scoring.classify.load_default_classifier`` if it exists.
        gold_min_score: minimum total score for a gold-call candidate.
        max_gap_s: longest pause (s) allowed between two words of one matched phrase.
    """

    critical_cap: float = 40.0
    unknown_policy: str = "apply"
    norms: MetricNorms = field(default_factory=MetricNorms)
    semantic_model: str | None = None
    semantic_encoder: Callable[[list[str]], np.ndarray] | None = None
    semantic_threshold: float = 0.75
    semantic_device: str = "cpu"
    find_pii: bool = True
    use_default_classifier: bool = True
    gold_min_score: float = 85.0
    max_gap_s: float = 2.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.critical_cap <= 100.0:
            raise ValueError(f"critical_cap must be between 0 and 100, got {self.critical_cap}")
        if self.unknown_policy not in UNKNOWN_POLICIES:
            raise ValueError(f"unknown_policy {self.unknown_policy!r} is not one of: {', '.join(UNKNOWN_POLICIES)}")
        if not 0.0 < self.semantic_threshold <= 1.0:
            raise ValueError(f"semantic_threshold must be in (0, 1], got {self.semantic_threshold}")
        if self.semantic_device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"semantic_device {self.semantic_device!r} is not one of: cpu, cuda, auto")
        if not 0.0 <= self.gold_min_score <= 100.0:
            raise ValueError(f"gold_min_score must be between 0 and 100, got {self.gold_min_score}")
        if self.max_gap_s <= 0:
            raise ValueError(f"max_gap_s must be > 0, got {self.max_gap_s}")

    @property
    def semantic_enabled(self) -> bool:
        return self.semantic_model is not None or self.semantic_encoder is not None
