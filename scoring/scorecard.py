"""Scorecard dataclasses: per-item verdicts with evidence, per-stage and total scores."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

ItemStatus = Literal["passed", "failed", "not_applicable"]
ITEM_STATUSES: tuple[str, ...] = ("passed", "failed", "not_applicable")

# Scorecard flags (machine-readable; ``notes`` carries the human sentence).
FLAG_EMPTY = "empty_transcript"
FLAG_ONE_SPEAKER = "one_speaker"
FLAG_ROLES_UNKNOWN = "roles_unknown"
FLAG_NOTHING_MATCHED = "nothing_matched"
FLAG_CRITICAL = "critical_failure"
FLAG_NOTHING_APPLICABLE = "nothing_applicable"


@dataclass(frozen=True)
class Evidence:
    """Where a verdict comes from: a quote and its place in the call.

    Attributes:
        quote: text of the segment where the phrase was found (trimmed to ~240 chars).
        matched: the words that matched the pattern.
        start_s: start of the matched words, seconds from the call start.
        end_s: end of the matched words, seconds.
        speaker: speaker label of the segment ("S0", "manager", ...).
        role: "manager", "client" or "unknown".
        pattern: the checklist pattern or regex that matched.
        method: "lemma", "regex", "question" (a question on a topic), "topic" (a sentence on a
            topic) or "semantic".
        score: match confidence 0..1 (fuzzy ratio / cosine similarity).
    """

    quote: str
    matched: str
    start_s: float
    end_s: float
    speaker: str
    role: str
    pattern: str
    method: str
    score: float = 1.0


@dataclass(frozen=True)
class ItemVerdict:
    """Verdict on one checklist item; ``reason`` always says why, ``evidence`` shows where."""

    item_id: str
    stage_id: str
    title: str
    status: ItemStatus
    reason: str
    evidence: tuple[Evidence, ...] = ()
    weight: float = 1.0
    critical: bool = False


@dataclass(frozen=True)
class StageScore:
    """Score of one stage: 0-100 over applicable items, None when none applied."""

    stage_id: str
    title: str
    score: float | None
    passed: int
    failed: int
    not_applicable: int
    weight: float = 1.0


@dataclass(frozen=True)
class Scorecard:
    """A call scored against one checklist version.

    Attributes:
        checklist_id, checklist_version: which script (and which version of it) was applied.
        total_score: 0-100 weighted share of passed items, capped at ``critical_cap`` after a
            critical failure; None when no item applied (e.g. an empty transcript).
        raw_score: the score before the cap.
        critical_failures: ids of failed critical items.
        flags: machine-readable conditions (``empty_transcript``, ``one_speaker``, ...).
        notes: the same conditions in words.
    """

    checklist_id: str
    checklist_version: str
    checklist_title: str
    total_score: float | None
    raw_score: float | None
    critical_cap: float
    capped: bool
    critical_failures: tuple[str, ...]
    stages: tuple[StageScore, ...]
    items: tuple[ItemVerdict, ...]
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def item(self, item_id: str) -> ItemVerdict:
        for verdict in self.items:
            if verdict.item_id == item_id:
                return verdict
        raise KeyError(f"no item {item_id!r} in scorecard {self.checklist_id} v{self.checklist_version}")

    def stage(self, stage_id: str) -> StageScore:
        for stage in self.stages:
            if stage.stage_id == stage_id:
                return stage
        raise KeyError(f"no stage {stage_id!r} in scorecard {self.checklist_id} v{self.checklist_version}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def weighted_total(
    items: list[tuple[str, float, bool]], critical_cap: float
) -> tuple[float | None, float | None, bool]:
    """The scoring rule, shared with storage when a head of sales overrides verdicts.

    Args:
        items: (status, effective weight = item weight x stage weight, critical) per item.
        critical_cap: the total's ceiling after a failed critical item.

    Returns:
        (total, raw, capped): raw is the weighted share of passed among applicable items x 100
        (None when nothing applied); total is raw capped after a critical failure.
    """
    passed_w = sum(w for status, w, _ in items if status == "passed")
    applicable_w = sum(w for status, w, _ in items if status in ("passed", "failed"))
    raw = round(100.0 * passed_w / applicable_w, 1) if applicable_w > 0 else None
    critical_failed = any(c and status == "failed" for status, _, c in items)
    if raw is not None and critical_failed and raw > critical_cap:
        return float(critical_cap), raw, True
    return raw, raw, False


def aggregate(
    *,
    checklist_id: str,
    checklist_version: str,
    checklist_title: str,
    stage_meta: list[tuple[str, str, float]],
    verdicts: list[ItemVerdict],
    critical_cap: float,
    flags: list[str],
    notes: list[str],
) -> Scorecard:
    """Turn item verdicts into stage and total scores.

    An item counts with weight ``item.weight * stage.weight``; the total is the weighted share
    of passed among applicable items, times 100, then capped after a critical failure.
    """
    stage_weight = {sid: w for sid, _, w in stage_meta}
    stages = []
    for sid, title, weight in stage_meta:
        mine = [v for v in verdicts if v.stage_id == sid]
        p = [v for v in mine if v.status == "passed"]
        f = [v for v in mine if v.status == "failed"]
        na = len(mine) - len(p) - len(f)
        sp = sum(v.weight for v in p)
        sa = sp + sum(v.weight for v in f)
        score = round(100.0 * sp / sa, 1) if sa > 0 else None
        stages.append(StageScore(sid, title, score, len(p), len(f), na, weight))
    total, raw, capped = weighted_total(
        [(v.status, v.weight * stage_weight[v.stage_id], v.critical) for v in verdicts], critical_cap
    )
    critical = tuple(v.item_id for v in verdicts if v.critical and v.status == "failed")
    if critical:
        flags = [*flags, FLAG_CRITICAL]
        notes = [*notes, "critical item(s) failed: " + ", ".join(critical) + f"; total capped at {critical_cap:g}"]
    if raw is None and FLAG_EMPTY not in flags:
        flags = [*flags, FLAG_NOTHING_APPLICABLE]
        notes = [*notes, "no checklist item applied to this call, so it has no score"]
    if raw is not None and not any(v.status == "passed" and v.evidence for v in verdicts):
        flags = [*flags, FLAG_NOTHING_MATCHED]
        notes = [*notes, "no checklist phrase was found in the call"]
    return Scorecard(
        checklist_id=checklist_id,
        checklist_version=checklist_version,
        checklist_title=checklist_title,
        total_score=total,
        raw_score=raw,
        critical_cap=float(critical_cap),
        capped=capped,
        critical_failures=critical,
        stages=tuple(stages),
        items=tuple(verdicts),
        flags=tuple(flags),
        notes=tuple(notes),
    )
