"""Reports: lead quality by channel and campaign (spam alert), per-manager activity, zombie clients,
broken call-back promises."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from callqa.api.auth import Principal
from callqa.api.deps import authorize, get_session, get_settings
from callqa.api.privacy import mask_phone
from fastapi import APIRouter, Depends, Query
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from callqa.settings import Settings
from callqa.storage.models import Call, Manager

router = APIRouter(prefix="/reports", tags=["reports"])

POSITIVE_OUTCOMES = ("sale", "next_step")


def _window(stmt, date_from: datetime | None, date_to: datetime | None):  # type: ignore[no-untyped-def]
    when = func.coalesce(Call.started_at, Call.created_at)
    if date_from is not None:
        stmt = stmt.where(when >= date_from)
    if date_to is not None:
        stmt = stmt.where(when < date_to)
    return stmt


def _count_if(cond: ColumnElement[bool]):  # type: ignore[no-untyped-def]
    return func.sum(case((cond, 1), else_=0))


@router.get("/lead-quality")
def lead_quality(
    session: Session = Depends(get_session), settings: Settings = Depends(get_settings),
    date_from: Annotated[datetime | None, Query()] = None,
    date_to: Annotated[datetime | None, Query()] = None,
    spam_alert_share: Annotated[float | None, Query(ge=0, le=1, description="Default: CALLQA_SPAM_ALERT_SHARE")] = None,
) -> dict[str, Any]:
    """Lead / non-target / spam shares per source channel and per campaign, with a spam alert."""
    threshold = settings.spam_alert_share if spam_alert_share is None else spam_alert_share

    def grouped(column) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
        stmt = _window(
            select(column, func.count(), _count_if(Call.call_class == "lead"),
                   _count_if(Call.call_class == "non_target"), _count_if(Call.call_class == "spam"))
            .where(Call.call_class.is_not(None)).group_by(column).order_by(func.count().desc()),
            date_from, date_to,
        )
        out = []
        for key, n, lead, non_target, spam in session.execute(stmt):
            n, lead, non_target, spam = int(n), int(lead or 0), int(non_target or 0), int(spam or 0)
            out.append({"key": key, "calls": n, "lead": lead, "non_target": non_target, "spam": spam,
                        "lead_share": lead / n, "non_target_share": non_target / n, "spam_share": spam / n,
                        "spam_alert": spam / n > threshold})
        return out

    channels = grouped(Call.source_channel)
    campaigns = grouped(Call.campaign)
    alerts = [f"channel {c['key'] or '(none)'}: spam {c['spam_share']:.1%} > {threshold:.1%}"
              for c in channels if c["spam_alert"]]
    alerts += [f"campaign {c['key'] or '(none)'}: spam {c['spam_share']:.1%} > {threshold:.1%}"
               for c in campaigns if c["spam_alert"]]
    return {"spam_alert_share": threshold, "channels": channels, "campaigns": campaigns, "alerts": alerts}


@router.get("/managers")
def managers_report(
    session: Session = Depends(get_session),
    date_from: Annotated[datetime | None, Query()] = None,
    date_to: Annotated[datetime | None, Query()] = None,
) -> list[dict[str, Any]]:
    """Per manager: calls, talk minutes, mean answer time, missed calls, conversion to a next step."""
    talked = Call.answered.is_not(False)
    stmt = _window(
        select(
            Manager.id, Manager.name, func.count(Call.id),
            func.sum(case((talked, func.coalesce(Call.duration_s, 0.0)), else_=0.0)),
            func.avg(case((Call.answered.is_(True), Call.ring_s), else_=None)),
            _count_if(Call.answered.is_(False)),
            _count_if(talked & Call.outcome.is_not(None)),
            _count_if(talked & Call.outcome.in_(POSITIVE_OUTCOMES)),
            func.avg(Call.score),
        )
        .join(Call, Call.manager_id == Manager.id)
        .group_by(Manager.id, Manager.name)
        .order_by(Manager.name),
        date_from, date_to,
    )
    out = []
    for mid, name, n, seconds, ring, missed, judged, positive, score in session.execute(stmt):
        judged = int(judged or 0)
        out.append({
            "manager_id": mid, "manager": name, "calls": int(n), "talk_minutes": round(float(seconds or 0) / 60, 1),
            "mean_answer_s": round(float(ring), 1) if ring is not None else None, "missed_calls": int(missed or 0),
            "conversations_with_outcome": judged, "next_step_or_sale": int(positive or 0),
            "conversion_to_next_step": (int(positive or 0) / judged) if judged else None,
            "mean_score": round(float(score), 1) if score is not None else None,
        })
    return out


@router.get("/zombies")
def zombies(
    session: Session = Depends(get_session), principal: Principal = Depends(authorize),
    min_contacts: Annotated[int, Query(ge=2, le=1000)] = 7,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Clients with ``min_contacts`` or more calls and no positive outcome (sale or next step) in any."""
    stmt = (
        select(Call.client_phone, func.count(Call.id), func.min(func.coalesce(Call.started_at, Call.created_at)),
               func.max(func.coalesce(Call.started_at, Call.created_at)))
        .where(Call.client_phone.is_not(None))
        .group_by(Call.client_phone)
        .having(func.count(Call.id) >= min_contacts, _count_if(Call.outcome.in_(POSITIVE_OUTCOMES)) == 0)
        .order_by(func.count(Call.id).desc())
        .limit(limit)
    )
    return [{"client_phone": phone if principal.sees_pii else mask_phone(phone), "contacts": int(n),
             "first_contact": first, "last_contact": last} for phone, n, first, last in session.execute(stmt)]


def _aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


@router.get("/broken-promises")
def broken_promises(
    session: Session = Depends(get_session), principal: Principal = Depends(authorize),
    as_of: Annotated[datetime | None, Query(description="Default: now")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Call-backs promised whose due day has ended without any later call to that client."""
    now = _aware(as_of) or datetime.now(UTC)
    promises = session.execute(
        select(Call.id, Call.client_phone, Call.manager_id, func.coalesce(Call.started_at, Call.created_at),
               Call.callback_due_at)
        .where(Call.callback_due_at.is_not(None), Call.client_phone.is_not(None), Call.callback_due_at < now)
        .order_by(Call.callback_due_at.desc())
        .limit(5000)
    ).all()
    phones = {p[1] for p in promises}
    later: dict[str, list[tuple[int, datetime]]] = {}
    if phones:
        for cid, phone, when in session.execute(
            select(Call.id, Call.client_phone, func.coalesce(Call.started_at, Call.created_at))
            .where(Call.client_phone.in_(phones))
        ):
            later.setdefault(phone, []).append((cid, _aware(when)))
    names = dict(session.execute(select(Manager.id, Manager.name)).all())
    out = []
    for cid, phone, mid, started, due in promises:
        started, due = _aware(started), _aware(due)
        deadline = datetime.combine(due.date(), time.max, tzinfo=due.tzinfo)  # by the end of the due day
        if deadline >= now:
            continue
        kept = any(other != cid and started < when <= deadline for other, when in later.get(phone, []))
        if not kept:
            out.append({"call_id": cid, "client_phone": phone if principal.sees_pii else mask_phone(phone),
                        "manager_id": mid, "manager": names.get(mid),
                        "promised_at": started, "due_at": due,
                        "overdue_days": round((now - due) / timedelta(days=1), 1)})
        if len(out) >= limit:
            break
    return out

