"""Call scoring: script checklists, speech metrics, personal data, gold-call candidates.

Pure: transcripts and audio arrays in, dataclasses out (no database, no HTTP, no settings).
"""

from .analyze import CallAnalysis, analyze_call, score_checklist
from .checklist import (
    AppliesTo,
    Checklist,
    ChecklistError,
    ChecklistItem,
    Stage,
    TimeWindow,
    load_checklist,
    load_checklists,
    packaged_checklist_dir,
    parse_checklist,
)
from .gold import GoldCandidate, gold_candidate
from .metrics import (
    Interruption,
    MetricFlag,
    MetricNorms,
    Silence,
    SpeakerMetrics,
    SpeechMetrics,
    compute_metrics,
)
from .options import CallContext, ScoringOptions
from .pii import PiiSpan, find_pii, mask_pii
from .scorecard import Evidence, ItemVerdict, Scorecard, StageScore

__all__ = [
    "AppliesTo", "CallAnalysis", "CallContext", "Checklist", "ChecklistError", "ChecklistItem", "Evidence",
    "GoldCandidate", "Interruption", "ItemVerdict", "MetricFlag", "MetricNorms", "PiiSpan", "Scorecard",
    "ScoringOptions", "Silence", "SpeakerMetrics", "SpeechMetrics", "Stage", "StageScore", "TimeWindow",
    "analyze_call", "compute_metrics", "find_pii", "gold_candidate", "load_checklist", "load_checklists",
    "mask_pii", "packaged_checklist_dir", "parse_checklist", "score_checklist",
]
