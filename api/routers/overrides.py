"""Overrides by the head of sales (with reason and audit), the audit log, and automatic-vs-human agreement."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from callqa.api.auth import Principal
from callqa.api.deps import authorize, get_session, visible_call
from callqa.api.errors import ApiError
from callqa.api.routers.calls import audit
from callqa.api.schemas import MAX_ID, IdPath, OverrideCreate, OverrideOut, Text
from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callqa.report import current_scorecards
from callqa.storage import repo
from callqa.storage.models import AuditLog, Call, ItemResult, Override, ScorecardRow
from callqa.types import CALL_CLASSES, OUTCOMES

router = APIRouter(tags=["overrides"])

ITEM_STATUSES = ("passed", "failed", "not_applicable")


def wilson_interval(successes: int, n: int, *, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95 % by default); (0, 1) when n == 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _override_out(o: Override) -> OverrideOut:
    return OverrideOut(id=o.id, call_id=o.call_id, target=o.target, item_id=o.item_id, scorecard_id=o.scorecard_id,
                       before=o.before, after=o.after, reason=o.reason, actor=o.actor, created_at=o.created_at)


def _pick_card(session: Session, call: Call, checklist_id: str | None) -> ScorecardRow:
    cards = current_scorecards(session, call)
    if checklist_id is not None:
        cards = [c for c in cards if c.checklist_id == checklist_id]
    elif call.checklist_id:
        cards = [c for c in cards if c.checklist_id == call.checklist_id] or cards
    if not cards:
        raise ApiError(409, f"call {call.id} has no current scorecard" +
                       (f" for checklist {checklist_id!r}" if checklist_id else ""), code="no_scorecard")
    return cards[0]


@router.post("/calls/{call_id}/overrides", status_code=201)
def create_override(
    call_id: IdPath, body: OverrideCreate, session: Session = Depends(get_session),
    principal: Principal = Depends(authorize),
) -> dict[str, Any]:
    """Change an item verdict, the class or the outcome with a reason; scores are recomputed.

    The automatic value stays stored next to the final one; an override with the automatic value
    confirms it (counted as agreement in the trust figures).
    """
    call = visible_call(session, principal, call_id)
    card_id: int | None = None
    if body.target == "item":
        if not body.item_id:
            raise ApiError(422, "item_id is required when target is 'item'", code="validation_error")
        if body.value not in ITEM_STATUSES:
            raise ApiError(422, f"value {body.value!r} is not one of: {', '.join(ITEM_STATUSES)}",
                           code="validation_error")
        card = _pick_card(session, call, body.checklist_id)
        item = session.scalar(select(ItemResult).where(ItemResult.scorecard_id == card.id,
                                                       ItemResult.item_id == body.item_id))
        if item is None:
            raise ApiError(404, f"item {body.item_id!r} is not on checklist {card.checklist_id}", code="not_found")
        before = item.final_status
        item.final_status = body.value
        session.flush()
        repo.recompute_final_total(session, card)
        if card.checklist_id == call.checklist_id or call.checklist_id is None:
            call.score = card.final_total
        card_id = card.id
    else:
        choices = CALL_CLASSES if body.target == "class" else OUTCOMES
        if body.value not in choices:
            raise ApiError(422, f"value {body.value!r} is not one of: {', '.join(choices)}", code="validation_error")
        if body.target == "class":
            before, call.call_class = call.call_class, body.value
        else:
            before, call.outcome = call.outcome, body.value
    override = Override(call_id=call.id, target=body.target, item_id=body.item_id if body.target == "item" else None,
                        scorecard_id=card_id, before=before, after=body.value, reason=body.reason,
                        actor=principal.actor)
    session.add(override)
    call.updated_at = datetime.now(UTC)
    audit(session, principal, "override", call.id, target=body.target, item_id=body.item_id, before=before,
          after=body.value, reason=body.reason)
    session.flush()
    out = _override_out(override).model_dump(mode="json")
    cards = current_scorecards(session, call)
    session.commit()
    return {
        "override": out,
        "call": {"id": call.id, "score": call.score, "call_class": call.call_class, "outcome": call.outcome},
        "scorecards": [{"id": c.id, "checklist_id": c.checklist_id, "auto_total": c.auto_total,
                        "final_total": c.final_total} for c in cards],
    }


@router.get("/calls/{call_id}/overrides", response_model=list[OverrideOut])
def list_overrides(
    call_id: IdPath, session: Session = Depends(get_session), principal: Principal = Depends(authorize),
) -> list[OverrideOut]:
    """Every override of the call, oldest first, with who, when, before and after."""
    call = visible_call(session, principal, call_id)
    rows = session.scalars(select(Override).where(Override.call_id == call.id).order_by(Override.id))
    return [_override_out(o) for o in rows]


@router.get("/overrides/agreement")
def agreement(
    session: Session = Depends(get_session),
    checklist_id: Annotated[Text | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """Per checklist item: how often the human verdict agrees with the automatic one (a trust figure).

    Counted over items a head of sales reviewed (overrode or confirmed), with a Wilson 95 % interval.
    """
    reviewed = (
        select(Override.scorecard_id, Override.item_id).where(Override.target == "item").distinct().subquery()
    )
    stmt = (
        select(ItemResult.item_id, ItemResult.auto_status, ItemResult.final_status)
        .join(reviewed, (reviewed.c.scorecard_id == ItemResult.scorecard_id)
              & (reviewed.c.item_id == ItemResult.item_id))
        .join(ScorecardRow, ScorecardRow.id == ItemResult.scorecard_id)
    )
    if checklist_id is not None:
        stmt = stmt.where(ScorecardRow.checklist_id == checklist_id)
    per_item: dict[str, list[int]] = {}
    for item_id, auto, final in session.execute(stmt):
        counts = per_item.setdefault(item_id, [0, 0])
        counts[0] += 1
        counts[1] += int(auto == final)
    totals = dict(session.execute(
        select(ItemResult.item_id, func.count()).group_by(ItemResult.item_id)
    ).all())
    items = []
    for item_id, (n, agree) in sorted(per_item.items()):
        low, high = wilson_interval(agree, n)
        items.append({"item_id": item_id, "reviewed": n, "agreed": agree, "overridden": n - agree,
                      "agreement": agree / n, "ci_low": low, "ci_high": high,
                      "scored_total": int(totals.get(item_id, 0))})
    n_all = sum(v[0] for v in per_item.values())
    agree_all = sum(v[1] for v in per_item.values())
    return {"items": items, "overall": {"reviewed": n_all, "agreed": agree_all,
                                        "agreement": agree_all / n_all if n_all else None}}


@router.get("/audit")
def audit_log(
    request: Request,
    session: Session = Depends(get_session),
    call_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    action: Annotated[Text | None, Query(max_length=50)] = None,
    actor: Annotated[Text | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The audit log, newest first: who read, exported, overrode or deleted which call, and when."""
    request.app.state.audit_buffer.flush()  # this worker's queued reads first (others within 0.2 s)
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if call_id is not None:
        stmt = stmt.where(AuditLog.call_id == call_id)
    if action is not None:
        stmt = stmt.where(AuditLog.action == action)
    if actor is not None:
        stmt = stmt.where(AuditLog.actor == actor)
    return [{"id": r.id, "actor": r.actor, "role": r.role, "action": r.action, "call_id": r.call_id,
             "details": r.details, "created_at": r.created_at} for r in session.scalars(stmt)]
