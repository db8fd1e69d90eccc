"""Storage helpers: the session first, keyword-only arguments after it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from callqa.storage.models import (
    AnalysisRow,
    Call,
    ItemResult,
    Manager,
    ScorecardRow,
    TranscriptRow,
    TranscriptSegment,
)
from callqa.types import CallMetadata, Segment, Transcript, Turn, Word


def get_or_create_manager(session: Session, *, name: str) -> Manager:
    name = name.strip()[:200]
    manager = session.scalar(select(Manager).where(Manager.name == name))
    if manager is None:
        manager = Manager(name=name)
        session.add(manager)
        session.flush()
    return manager


def apply_metadata(session: Session, call: Call, meta: CallMetadata) -> None:
    """Copy metadata onto the call row (only fields that are set)."""
    if meta.manager:
        call.manager = get_or_create_manager(session, name=meta.manager)
    call.external_id = meta.external_id or call.external_id
    call.direction = meta.direction or call.direction or "unknown"
    call.source_channel = meta.source_channel or call.source_channel
    call.campaign = meta.campaign or call.campaign
    call.client_phone = meta.client_phone or call.client_phone
    call.started_at = meta.started_at or call.started_at
    call.ring_s = meta.ring_s if meta.ring_s is not None else call.ring_s
    call.answered = meta.answered if meta.answered is not None else call.answered
    call.crm_deal_id = meta.crm_deal_id or call.crm_deal_id
    if meta.channel_map is not None:
        call.channel_map = {"manager": meta.channel_map.manager, "client": meta.channel_map.client}


def _ms(seconds: float) -> float:
    """Times are stored to the millisecond: ASR timestamps are not finer (faster-whisper's word times
    step by 20 ms), and offset arithmetic leaves 17-digit floats that would triple the stored JSON."""
    return round(float(seconds), 3)


def segment_fields(seg: Segment) -> dict[str, Any]:
    """A transcript segment as its ``transcript_segments`` row stores it (times to the ms, words as JSON)."""
    return {
        "start_s": _ms(seg.start_s), "end_s": _ms(seg.end_s), "speaker": seg.speaker, "role": seg.role,
        "channel": seg.channel, "text": seg.text, "confidence": seg.confidence,
        "words": [{"start_s": _ms(w.start_s), "end_s": _ms(w.end_s), "text": w.text,
                   "probability": round(w.probability, 4)} for w in seg.words],
    }


def replace_transcript(session: Session, call: Call, transcript: Transcript) -> None:
    """Write the transcript rows, replacing earlier ones (idempotent)."""
    session.execute(delete(TranscriptSegment).where(TranscriptSegment.call_id == call.id))
    session.execute(delete(TranscriptRow).where(TranscriptRow.call_id == call.id))
    session.flush()
    session.add(
        TranscriptRow(
            call_id=call.id,
            language=transcript.language,
            model=transcript.model,
            duration_s=transcript.duration_s,
            roles=dict(transcript.roles),
            role_confidence=transcript.role_confidence,
            flags=list(transcript.flags),
            turns=[{"start_s": _ms(t.start_s), "end_s": _ms(t.end_s), "speaker": t.speaker} for t in transcript.turns],
            text=transcript.text,
        )
    )
    for idx, seg in enumerate(transcript.segments):
        session.add(TranscriptSegment(call_id=call.id, idx=idx, **segment_fields(seg)))
    session.flush()


def load_transcript(session: Session, call: Call) -> Transcript:
    row = session.scalar(select(TranscriptRow).where(TranscriptRow.call_id == call.id))
    segs = session.scalars(
        select(TranscriptSegment).where(TranscriptSegment.call_id == call.id).order_by(TranscriptSegment.idx)
    ).all()
    return transcript_from_rows(row, segs, duration_s=call.duration_s)


def transcript_from_rows(row: Any, segs: Sequence[Any], *, duration_s: float | None) -> Transcript:
    """A Transcript from a transcripts row (or None) and its segment rows in order; ORM objects and Core
    rows both work (attribute access). ``duration_s``: the call's, used when there is no transcript row."""
    segments = tuple(
        Segment(
            start_s=s.start_s,
            end_s=s.end_s,
            text=s.text,
            speaker=s.speaker,
            role=s.role,
            words=tuple(Word(speaker=s.speaker, **w) for w in (s.words or [])),
            confidence=s.confidence,
            channel=s.channel,
        )
        for s in segs
    )
    if row is None:
        return Transcript(segments=segments, duration_s=duration_s or 0.0)
    return Transcript(
        segments=segments,
        language=row.language,
        duration_s=row.duration_s,
        roles=dict(row.roles or {}),
        role_confidence=row.role_confidence,
        flags=tuple(row.flags or ()),
        turns=tuple(Turn(**t) for t in (row.turns or [])),
        model=row.model or "",
    )


def call_context(session: Session, call: Call, settings: Any):  # type: ignore[no-untyped-def]
    """The facts scoring needs about a call, from its row and the settings."""
    from callqa.scoring import CallContext

    extra = call.extra or {}
    return CallContext(
        direction=call.direction or "unknown",
        source_channel=call.source_channel,
        campaign=call.campaign,
        lead_form_left=extra.get("lead_form_left"),
        company_names=settings.company_name_list,
        manager_name=call.manager.name if call.manager else None,
        started_at=call.started_at,
    )


def scorecard_fields(card: dict[str, Any]) -> tuple[str, str, float | None, bool]:
    """(checklist id, version, total, critical failed) of a scorecard as ``Scorecard.to_dict`` gives it."""
    total = card.get("total_score")
    return (
        str(card.get("checklist_id")),
        str(card.get("checklist_version", "1")),
        float(total) if total is not None else None,
        bool(card.get("critical_failures")),
    )


def item_fields(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The scorecard's items as their ``item_results`` rows store them (without ids and final status)."""
    stage_weights = {str(s.get("stage_id")): float(s.get("weight", 1.0)) for s in card.get("stages", [])}
    rows = []
    for item in card.get("items", []):
        stage = str(item.get("stage_id", ""))
        rows.append({
            "item_id": str(item.get("item_id")),
            "stage": stage,
            "auto_status": str(item.get("status")),
            # effective weight: item weight x stage weight, as the scoring rule counts it
            "weight": float(item.get("weight", 1.0)) * stage_weights.get(stage, 1.0),
            "critical": bool(item.get("critical", False)),
            "evidence": list(item.get("evidence", [])),
        })
    return rows


def store_analysis(session: Session, call: Call, analysis: dict[str, Any]) -> None:
    """Store scorecards (one row per checklist version, replacing only the same version), metrics,
    classification and gold reasons; keep human overrides of the same checklist version."""
    from callqa.pipeline import callback_due

    cards = analysis.get("scorecards") or []
    current_ids: list[int] = []
    for card in cards:
        checklist_id, version, total, critical = scorecard_fields(card)
        old = session.scalar(
            select(ScorecardRow).where(
                ScorecardRow.call_id == call.id,
                ScorecardRow.checklist_id == checklist_id,
                ScorecardRow.checklist_version == version,
            )
        )
        finals: dict[str, str] = {}
        if old is not None:
            finals = {i.item_id: i.final_status for i in old.items if i.final_status != i.auto_status}
            session.delete(old)
            session.flush()
        row = ScorecardRow(
            call_id=call.id,
            checklist_id=checklist_id,
            checklist_version=version,
            auto_total=total,
            final_total=total,
            critical_failed=critical,
            data=card,
            is_current=True,
        )
        session.add(row)
        session.flush()
        for fields in item_fields(card):
            session.add(ItemResult(scorecard_id=row.id, call_id=call.id,
                                   final_status=finals.get(fields["item_id"], fields["auto_status"]), **fields))
        session.flush()
        if finals:
            recompute_final_total(session, row)
        current_ids.append(row.id)
    # Older versions stay stored, but only the latest analysis is "current".
    for other in session.scalars(select(ScorecardRow).where(ScorecardRow.call_id == call.id)).all():
        other.is_current = other.id in current_ids

    cls = analysis.get("classification") or None
    existing = session.scalar(select(AnalysisRow).where(AnalysisRow.call_id == call.id))
    if existing is None:
        existing = AnalysisRow(call_id=call.id)
        session.add(existing)
    existing.metrics = analysis.get("metrics") or {}
    existing.classification = cls
    existing.pii_spans = analysis.get("pii_spans") or []
    existing.gold = analysis.get("gold")
    existing.auto_class = cls.get("call_class") if cls else None
    existing.auto_outcome = cls.get("outcome") if cls else None
    existing.created_at = datetime.now(UTC)

    primary = next((c for c in cards if c.get("primary")), cards[0] if cards else None)
    primary_row = None
    if primary is not None:
        primary_row = session.scalar(
            select(ScorecardRow).where(
                ScorecardRow.call_id == call.id,
                ScorecardRow.checklist_id == scorecard_fields(primary)[0],
                ScorecardRow.checklist_version == scorecard_fields(primary)[1],
            )
        )
    call.score = primary_row.final_total if primary_row else None
    call.checklist_id = primary_row.checklist_id if primary_row else None
    overridden_class = _latest_override(session, call.id, "class")
    overridden_outcome = _latest_override(session, call.id, "outcome")
    call.call_class = overridden_class or (cls.get("call_class") if cls else None)
    call.outcome = overridden_outcome or (cls.get("outcome") if cls else None)
    call.callback_due_at = callback_due(call.started_at, cls)
    call.is_gold_candidate = bool(analysis.get("gold"))
    call.updated_at = datetime.now(UTC)


def _latest_override(session: Session, call_id: int, target: str) -> str | None:
    from callqa.storage.models import Override

    return session.scalar(
        select(Override.after)
        .where(Override.call_id == call_id, Override.target == target)
        .order_by(Override.id.desc())
        .limit(1)
    )


def recompute_final_total(session: Session, card: ScorecardRow) -> float | None:
    """Final total from the final item statuses, with the rule scoring uses (weights, critical cap)."""
    from callqa.scoring.scorecard import weighted_total

    items = session.scalars(select(ItemResult).where(ItemResult.scorecard_id == card.id)).all()
    cap = float((card.data or {}).get("critical_cap", 40.0))
    total, _, _ = weighted_total([(i.final_status, i.weight, i.critical) for i in items], cap)
    card.final_total = total
    card.critical_failed = any(i.critical and i.final_status == "failed" for i in items)
    return total


def counts_by_state(session: Session) -> dict[str, int]:
    rows = session.execute(select(Call.state, func.count()).group_by(Call.state)).all()
    return {state: int(n) for state, n in rows}


def recent_failures(session: Session, *, limit: int = 10) -> list[Call]:
    return list(
        session.scalars(select(Call).where(Call.state == "failed").order_by(Call.updated_at.desc()).limit(limit))
    )

