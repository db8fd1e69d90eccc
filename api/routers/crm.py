"""CRM pull: calls changed since a cursor, and lookup by CRM deal id, client phone or external id.

The payload is the webhook's (``callqa.webhooks.call_payload``): phone numbers masked.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from callqa.api.deps import get_session
from callqa.api.errors import ApiError
from callqa.api.routers.calls import decode_cursor, encode_cursor
from callqa.api.schemas import Text
from fastapi import APIRouter, Depends, Query
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from callqa.storage.models import Call, ScorecardRow

router = APIRouter(prefix="/crm", tags=["crm"])


def _payload(call: Call) -> dict[str, Any]:
    from callqa.webhooks import call_payload

    body = call_payload(call, list(call.scorecards))["call"]
    body["state"] = call.state
    body["updated_at"] = call.updated_at.isoformat() if call.updated_at else None
    return body


def _load_options():  # type: ignore[no-untyped-def]
    return (selectinload(Call.manager), selectinload(Call.scorecards).selectinload(ScorecardRow.items))


@router.get("/calls")
def changed_calls(
    session: Session = Depends(get_session),
    updated_since: Annotated[datetime | None, Query(description="First pull: calls updated at or after this")] = None,
    cursor: Annotated[Text | None, Query(max_length=200, description="`next_cursor` of the previous pull")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Calls in update order; store ``next_cursor`` and pass it next time to get only what changed."""
    stmt = select(Call).options(*_load_options()).order_by(Call.updated_at, Call.id)
    if cursor is not None:
        raw = decode_cursor(cursor)
        stamp, _, ident = raw.rpartition("|")
        try:
            after = datetime.fromisoformat(stamp)
            after_id = int(ident)
        except ValueError as exc:
            raise ApiError(400, "invalid cursor", code="bad_cursor") from exc
        stmt = stmt.where(or_(Call.updated_at > after, and_(Call.updated_at == after, Call.id > after_id)))
    elif updated_since is not None:
        stmt = stmt.where(Call.updated_at >= updated_since)
    rows = list(session.scalars(stmt.limit(limit)))
    next_cursor = cursor
    if rows:
        last = rows[-1]
        next_cursor = encode_cursor(f"{last.updated_at.isoformat()}|{last.id}")
    return {"items": [_payload(c) for c in rows], "next_cursor": next_cursor, "has_more": len(rows) == limit}


def phone_variants(phone: str) -> set[str]:
    """Spellings a phone number is commonly stored in (raw, digits, +7/8 prefixes for Russian numbers)."""
    digits = re.sub(r"\D", "", phone)
    out = {phone.strip(), digits}
    if digits:
        out.add("+" + digits)
    if len(digits) >= 10:
        local = digits[-10:]
        out |= {local, "7" + local, "8" + local, "+7" + local}
    return {p for p in out if p}


def _digits_only(column):  # type: ignore[no-untyped-def]
    """The column with the usual phone punctuation removed (portable: nested replace())."""
    for ch in (" ", "-", "(", ")", "+", ".", "\u00a0"):
        column = func.replace(column, ch, "")
    return column


@router.get("/calls/lookup")
def lookup(
    session: Session = Depends(get_session),
    crm_deal_id: Annotated[Text | None, Query(max_length=200)] = None,
    client_phone: Annotated[Text | None, Query(max_length=50)] = None,
    external_id: Annotated[Text | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Calls by CRM deal id, client phone (any common spelling) or external id (newest first)."""
    conds = []
    if crm_deal_id:
        conds.append(Call.crm_deal_id == crm_deal_id)
    if client_phone:
        digits = re.sub(r"\D", "", client_phone)
        if len(digits) < 5:
            raise ApiError(422, "client_phone needs at least 5 digits", code="validation_error")
        conds.append(or_(Call.client_phone.in_(phone_variants(client_phone)),
                         _digits_only(Call.client_phone).like(f"%{digits[-10:]}")))
    if external_id:
        conds.append(Call.external_id == external_id)
    if not conds:
        raise ApiError(422, "give at least one of crm_deal_id, client_phone, external_id", code="validation_error")
    stmt = select(Call).options(*_load_options()).where(and_(*conds)).order_by(Call.id.desc()).limit(limit)
    return {"items": [_payload(c) for c in session.scalars(stmt)]}
