"""Render a stored call for people (text scorecard) and machines (JSON, SRT, WebVTT, RTTM)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from callqa.storage import repo
from callqa.storage.models import (
    AnalysisRow,
    Call,
    CallDocument,
    ItemResult,
    Manager,
    ScorecardRow,
    TranscriptRow,
    TranscriptSegment,
)

FORMATS: tuple[str, ...] = ("text", "json", "srt", "vtt", "rttm")
_STATUS_MARK = {"passed": "[green]✔[/green]", "failed": "[red]✘[/red]", "not_applicable": "[dim]–[/dim]"}


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    m, s = divmod(max(seconds, 0.0), 60)
    return f"{int(m):02d}:{s:04.1f}"


def current_scorecards(session: Session, call: Call) -> list[ScorecardRow]:
    return list(
        session.scalars(
            select(ScorecardRow)
            .where(ScorecardRow.call_id == call.id, ScorecardRow.is_current.is_(True))
            .order_by(ScorecardRow.id)
        )
    )


def call_dict(session: Session, call: Call) -> dict[str, Any]:
    """The whole stored call as JSON-safe data (unmasked: callers mask where the role requires)."""
    session.flush()
    return build_call_dicts(session, [call.id])[call.id]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def build_call_dicts(
    session: Session, call_ids: Sequence[int], *, with_manager_id: bool = False
) -> dict[int, dict[str, Any]]:
    """``call_dict`` for many calls with one query per table (Core rows, no ORM objects); with
    ``with_manager_id`` the API's extra fields ``manager_id`` and ``campaign`` come last.

    Returns:
        call id -> data, for the ids that exist.
    """
    ids = sorted({int(i) for i in call_ids})
    if not ids:
        return {}
    calls_t, docs = Call.__table__, {}
    call_rows = session.execute(
        select(calls_t, Manager.name.label("manager_name"))
        .outerjoin(Manager, Manager.id == calls_t.c.manager_id)
        .where(calls_t.c.id.in_(ids))
    ).all()
    transcripts = {r.call_id: r for r in session.execute(
        select(TranscriptRow.__table__).where(TranscriptRow.call_id.in_(ids)))}
    segments: dict[int, list[Any]] = {}
    for r in session.execute(select(TranscriptSegment.__table__).where(TranscriptSegment.call_id.in_(ids))
                             .order_by(TranscriptSegment.call_id, TranscriptSegment.idx)):
        segments.setdefault(r.call_id, []).append(r)
    cards: dict[int, list[Any]] = {}
    for r in session.execute(select(ScorecardRow.__table__).where(
            ScorecardRow.call_id.in_(ids), ScorecardRow.is_current.is_(True)).order_by(ScorecardRow.id)):
        cards.setdefault(r.call_id, []).append(r)
    items: dict[int, list[Any]] = {}
    card_ids = [c.id for rows in cards.values() for c in rows]
    if card_ids:
        for r in session.execute(select(ItemResult.__table__).where(ItemResult.scorecard_id.in_(card_ids))
                                 .order_by(ItemResult.id)):
            items.setdefault(r.scorecard_id, []).append(r)
    analyses = {r.call_id: r for r in session.execute(
        select(AnalysisRow.__table__).where(AnalysisRow.call_id.in_(ids)))}
    for call in call_rows:
        analysis = analyses.get(call.id)
        transcript = repo.transcript_from_rows(transcripts.get(call.id), segments.get(call.id, []),
                                               duration_s=call.duration_s)
        docs[call.id] = {
            "id": call.id,
            "file": call.original_name,
            "sha256": call.sha256,
            "state": call.state,
            "error": call.error,
            "duration_s": call.duration_s,
            "n_channels": call.n_channels,
            "metadata": {
                "external_id": call.external_id,
                "manager": call.manager_name,
                "direction": call.direction,
                "source_channel": call.source_channel,
                "campaign": call.campaign,
                "client_phone": call.client_phone,
                "started_at": _iso(call.started_at),
                "ring_s": call.ring_s,
                "answered": call.answered,
                "crm_deal_id": call.crm_deal_id,
                "channel_map": call.channel_map,
            },
            "score": call.score,
            "call_class": call.call_class,
            "outcome": call.outcome,
            "callback_due_at": _iso(call.callback_due_at),
            "transcript": transcript.to_dict(),
            "scorecards": [
                {
                    "id": c.id,
                    "checklist_id": c.checklist_id,
                    "checklist_version": c.checklist_version,
                    "auto_total": c.auto_total,
                    "final_total": c.final_total,
                    "critical_failed": c.critical_failed,
                    "items": [
                        {
                            "item_id": i.item_id, "stage": i.stage, "auto_status": i.auto_status,
                            "final_status": i.final_status, "weight": i.weight, "critical": i.critical,
                            "evidence": i.evidence,
                        }
                        for i in items.get(c.id, [])
                    ],
                    "detail": c.data,
                }
                for c in cards.get(call.id, [])
            ],
            "metrics": analysis.metrics if analysis else None,
            "classification": analysis.classification if analysis else None,
            "pii_spans": analysis.pii_spans if analysis else [],
            "gold": analysis.gold if analysis else None,
        }
        if with_manager_id:
            docs[call.id]["manager_id"] = call.manager_id
            docs[call.id]["campaign"] = call.campaign
    return docs


def json_default(value: Any) -> str:
    """JSON for values json cannot encode: datetimes as ISO 8601, anything else as text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def document_json(data: dict[str, Any]) -> str:
    """The API's JSON text of a call document (compact, UTF-8 text kept as is)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=json_default)


def render_call_documents(session: Session, call_ids: Sequence[int]) -> dict[int, str]:
    """The API documents of calls as JSON text, by call id: ``call_dict`` plus ``manager_id`` and
    ``campaign``, unmasked."""
    return {cid: document_json(data) for cid, data in
            build_call_dicts(session, call_ids, with_manager_id=True).items()}


def _upsert(session: Session):  # type: ignore[no-untyped-def]
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(CallDocument)


def refresh_call_documents(session: Session, call_ids: Sequence[int], *, chunk: int = 500) -> int:
    """Render and store the documents of ``call_ids`` (replacing older ones; a missing call's document
    is removed). Runs inside the caller's transaction. Returns the number of documents written."""
    ids = sorted({int(i) for i in call_ids})
    written = 0
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        bodies = render_call_documents(session, part)
        gone = [i for i in part if i not in bodies]
        if gone:
            session.execute(delete(CallDocument).where(CallDocument.call_id.in_(gone)))
        if bodies:
            now = datetime.now(UTC)
            stmt = _upsert(session)
            stmt = stmt.on_conflict_do_update(
                index_elements=[CallDocument.call_id],
                set_={"body": stmt.excluded.body, "body_masked": None, "rendered_at": stmt.excluded.rendered_at},
            )
            session.execute(stmt, [{"call_id": cid, "body": body, "body_masked": None, "rendered_at": now}
                                   for cid, body in bodies.items()])
            written += len(bodies)
    return written


class StoredDocument(NamedTuple):
    """A call's API document as stored; ``fresh``: rendered by this call (commit to keep it)."""

    manager_id: int | None
    body: str
    body_masked: str | None
    rendered_at: datetime
    fresh: bool = False


def call_document(session: Session, call_id: int) -> StoredDocument | None:
    """The stored API document of a call, rendered first where missing (then commit the session to
    keep it); None when the call does not exist. One indexed query when the document is stored."""
    stmt = (select(Call.manager_id, CallDocument.body, CallDocument.body_masked, CallDocument.rendered_at)
            .outerjoin(CallDocument, CallDocument.call_id == Call.id).where(Call.id == call_id))
    row = session.execute(stmt).first()
    if row is None:
        return None
    if row.body is not None:
        return StoredDocument(row.manager_id, row.body, row.body_masked, row.rendered_at)
    bodies = render_call_documents(session, [call_id])
    if call_id not in bodies:
        return None
    now = datetime.now(UTC)
    # Only where none exists: a writer's document (rendered in its own transaction) always wins.
    session.execute(_upsert(session).on_conflict_do_nothing(index_elements=[CallDocument.call_id]),
                    [{"call_id": call_id, "body": bodies[call_id], "body_masked": None, "rendered_at": now}])
    return StoredDocument(row.manager_id, bodies[call_id], None, now, fresh=True)


def store_masked_document(session: Session, call_id: int, body_masked: str, *, rendered_at: datetime) -> None:
    """Keep the masked rendering, unless the document changed since ``rendered_at``."""
    session.execute(update(CallDocument)
                    .where(CallDocument.call_id == call_id, CallDocument.rendered_at == rendered_at)
                    .values(body_masked=body_masked))


def render_call(session: Session, call: Call, *, fmt: str = "text") -> str:
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of: {', '.join(FORMATS)}")
    if fmt == "json":
        return json.dumps(call_dict(session, call), ensure_ascii=False, indent=2, default=str)
    if fmt in ("srt", "vtt", "rttm"):
        from callqa.asr import export

        transcript = repo.load_transcript(session, call)
        if fmt == "srt":
            return export.to_srt(transcript)
        if fmt == "vtt":
            return export.to_vtt(transcript)
        return export.to_rttm(transcript, file_id=f"call{call.id}")
    return _render_text(session, call)


def _item_details(card: ScorecardRow) -> dict[str, dict[str, Any]]:
    return {str(i.get("item_id")): i for i in (card.data or {}).get("items", [])}


def render_scorecard_summary(session: Session, call: Call) -> str:
    """A compact scorecard: total, class, each item's verdict with its first piece of evidence."""
    lines = [f"[bold]Call {call.id}[/bold] {call.original_name} — {call.state}"]
    if call.state == "failed":
        lines.append(f"  [red]failed:[/red] {call.error}")
        return "\n".join(lines)
    lines.append(
        f"  class: {call.call_class or '-'}  outcome: {call.outcome or '-'}  "
        f"manager: {call.manager.name if call.manager else '-'}"
    )
    for card in current_scorecards(session, call):
        details = _item_details(card)
        crit = "  [red]critical failure[/red]" if card.critical_failed else ""
        total = f"{card.final_total:.0f}/100" if card.final_total is not None else "no score"
        lines.append(f"  checklist {card.checklist_id} v{card.checklist_version}: [bold]{total}[/bold]{crit}")
        for note in (card.data or {}).get("notes", []):
            lines.append(f"    [dim]{note}[/dim]")
        for item in card.items:
            mark = _STATUS_MARK.get(item.final_status, item.final_status)
            detail = details.get(item.item_id, {})
            ev = item.evidence[0] if item.evidence else {}
            if ev:
                said = f"@{_fmt_time(ev.get('start_s'))} «{(ev.get('quote') or '')[:70]}»"
            else:
                said = f"[dim]{(detail.get('reason') or '')[:80]}[/dim]"
            override = " [magenta](overridden)[/magenta]" if item.final_status != item.auto_status else ""
            lines.append(f"    {mark} {detail.get('title', item.item_id)}{override} {said}")
    return "\n".join(lines)


def _render_text(session: Session, call: Call) -> str:
    data = call_dict(session, call)
    meta = data["metadata"]
    out = [render_scorecard_summary(session, call), ""]
    out.append(
        "  " + "  ".join(f"{k}: {v}" for k, v in meta.items() if v not in (None, "", {}) and k != "channel_map")
    )
    metrics = data.get("metrics") or {}
    if metrics:
        out.append("")
        out.append("[bold]Speech metrics[/bold]")
        for key, value in metrics.items():
            if isinstance(value, dict):
                continue
            if isinstance(value, list):
                if value and key == "flags":
                    for flag in value:
                        text = flag.get("message", flag.get("code")) if isinstance(flag, dict) else flag
                        out.append(f"  [yellow]⚑[/yellow] {text}")
                continue
            out.append(f"  {key}: {value:.2f}" if isinstance(value, float) else f"  {key}: {value}")
        for speaker, values in (metrics.get("per_speaker") or {}).items():
            if isinstance(values, dict):
                shown = ", ".join(
                    f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in values.items()
                    if not isinstance(v, dict | list)
                )
                out.append(f"  {speaker}: {shown}")
    cls = data.get("classification") or {}
    if cls:
        out.append("")
        probs = cls.get("class_probs") or {}
        out.append(
            f"[bold]Class[/bold] {cls.get('call_class')} ({probs.get(cls.get('call_class'), 0):.2f}); "
            f"outcome {cls.get('outcome')}"
            + (f"; call-back due: {cls.get('callback_due_text')}" if cls.get("callback_due_text") else "")
        )
    if data.get("gold"):
        out.append(f"[yellow]Gold-call candidate[/yellow]: {data['gold']}")
    out.append("")
    out.append("[bold]Transcript[/bold]")
    for seg in data["transcript"]["segments"]:
        out.append(f"  {_fmt_time(seg['start_s'])} {seg.get('role') or seg.get('speaker')}: {seg['text'].strip()}")
    if not data["transcript"]["segments"]:
        flags = ", ".join(data["transcript"].get("flags") or []) or "no segments"
        out.append(f"  (empty transcript: {flags})")
    return "\n".join(out)
