"""Per-manager feedback: item pass rates against the team with Wilson intervals, speech metrics against
team norms, a weekly trend, and the three things to work on with clips (own call and a gold call)."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from callqa.api.auth import Principal
from callqa.api.deps import authorize, get_session
from callqa.api.errors import ApiError, not_found
from callqa.api.routers.gold import CLIP_PAD_S, clip_transcript
from callqa.api.routers.overrides import wilson_interval
from callqa.api.schemas import IdPath
from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callqa.storage.models import AnalysisRow, Call, Clip, GoldEntry, ItemResult, Manager, ScorecardRow

router = APIRouter(prefix="/managers", tags=["managers"])

MIN_CALLS_FOR_FOCUS = 3


@router.get("")
def list_managers(session: Session = Depends(get_session), principal: Principal = Depends(authorize)
                  ) -> list[dict[str, Any]]:
    """Managers with their call counts (a manager key sees only itself)."""
    stmt = (
        select(Manager, func.count(Call.id), func.avg(Call.score))
        .outerjoin(Call, Call.manager_id == Manager.id)
        .group_by(Manager.id)
        .order_by(Manager.name)
    )
    if principal.role == "manager":
        stmt = stmt.where(Manager.id == principal.manager_id)
    return [{"id": m.id, "name": m.name, "team": m.team, "active": m.active, "calls": int(n),
             "mean_score": round(float(avg), 1) if avg is not None else None}
            for m, n, avg in session.execute(stmt)]


def _verdict(m_low: float, m_high: float, t_low: float, t_high: float) -> str:
    if m_high < t_low:
        return "below_team"
    if m_low > t_high:
        return "above_team"
    return "no_clear_difference"


def _numeric_metrics(metrics: dict[str, Any] | None) -> dict[str, float]:
    out = {}
    for key, value in (metrics or {}).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        out[key] = float(value)
    return out


def _evidence_range(evidence: list[Any]) -> tuple[float, float] | None:
    for ev in evidence or []:
        if isinstance(ev, dict) and isinstance(ev.get("start_s"), int | float):
            start = float(ev["start_s"])
            end = float(ev.get("end_s") or start)
            return max(0.0, start - CLIP_PAD_S), end + CLIP_PAD_S
    return None


def _clip_out(session: Session, call_id: int, rng: tuple[float, float] | None, masked: bool, source: str
              ) -> dict[str, Any]:
    start, end = rng if rng else (0.0, 30.0)
    return {"call_id": call_id, "start_s": round(start, 2), "end_s": round(end, 2), "source": source,
            "audio_url": f"/api/v1/calls/{call_id}/audio#t={start:.1f},{end:.1f}",
            "transcript": clip_transcript(session, call_id, start, end, masked=masked)}


def _own_clip(session: Session, manager_id: int, item_id: str, since: datetime, masked: bool
              ) -> dict[str, Any] | None:
    rows = session.execute(
        select(ItemResult.call_id, ItemResult.evidence)
        .join(ScorecardRow, ScorecardRow.id == ItemResult.scorecard_id)
        .join(Call, Call.id == ItemResult.call_id)
        .where(Call.manager_id == manager_id, ItemResult.item_id == item_id, ItemResult.final_status == "failed",
               ScorecardRow.is_current.is_(True), func.coalesce(Call.started_at, Call.created_at) >= since)
        .order_by(Call.id.desc())
        .limit(20)
    ).all()
    if not rows:
        return None
    # Prefer a failure with a located piece of evidence (a moment to listen to).
    for call_id, evidence in rows:
        rng = _evidence_range(evidence)
        if rng is not None:
            return _clip_out(session, call_id, rng, masked, "own_call")
    return _clip_out(session, rows[0][0], None, masked, "own_call")


def _gold_clip(session: Session, manager_id: int, item_id: str, masked: bool) -> dict[str, Any] | None:
    # 1. A trainer's clip tagged with the item (on the clip or on its library entry).
    wanted = f"item:{item_id}"
    for clip in session.scalars(select(Clip).order_by(Clip.id.desc()).limit(500)):
        if wanted in set(clip.tags or []) | set(clip.entry.tags or []):
            return _clip_out(session, clip.call_id, (clip.start_s, clip.end_s), masked, "gold_clip")
    # 2. A gold-library call (else a gold candidate) where the item passed with located evidence.
    for source, condition in (
        ("gold_library", Call.id.in_(select(GoldEntry.call_id))),
        ("gold_candidate", Call.is_gold_candidate.is_(True)),
    ):
        rows = session.execute(
            select(ItemResult.call_id, ItemResult.evidence)
            .join(ScorecardRow, ScorecardRow.id == ItemResult.scorecard_id)
            .join(Call, Call.id == ItemResult.call_id)
            .where(condition, ItemResult.item_id == item_id, ItemResult.final_status == "passed",
                   ScorecardRow.is_current.is_(True), Call.manager_id.is_distinct_from(manager_id))
            .order_by(Call.score.desc().nulls_last())
            .limit(20)
        ).all()
        for call_id, evidence in rows:
            rng = _evidence_range(evidence)
            if rng is not None:
                return _clip_out(session, call_id, rng, masked, source)
    return None


@router.get("/{manager_id}/feedback")
def feedback(
    manager_id: IdPath,
    session: Session = Depends(get_session),
    principal: Principal = Depends(authorize),
    days: Annotated[int, Query(ge=1, le=3650, description="Window: calls started in the last N days")] = 90,
) -> dict[str, Any]:
    """Feedback for one manager against the team (managers of the same team, else everyone else)."""
    if principal.role == "manager" and principal.manager_id != manager_id:
        raise ApiError(403, "a manager sees only their own feedback")
    manager = session.get(Manager, manager_id)
    if manager is None:
        raise not_found("manager", manager_id)
    masked = not principal.sees_pii
    since = datetime.now(UTC) - timedelta(days=days)
    when = func.coalesce(Call.started_at, Call.created_at)
    team_filter = Manager.team == manager.team if manager.team else Manager.id.is_not(None)
    team_ids = set(session.scalars(select(Manager.id).where(team_filter))) - {manager.id}

    rows = session.execute(
        select(ItemResult.item_id, ItemResult.stage, ItemResult.final_status, Call.manager_id)
        .join(ScorecardRow, ScorecardRow.id == ItemResult.scorecard_id)
        .join(Call, Call.id == ItemResult.call_id)
        .join(Manager, Manager.id == Call.manager_id)
        .where(ScorecardRow.is_current.is_(True), when >= since, team_filter,
               ItemResult.final_status.in_(("passed", "failed")))
    ).all()
    stats: dict[str, dict[str, Any]] = {}
    for item_id, stage, status, mid in rows:
        s = stats.setdefault(item_id, {"stage": stage, "m": [0, 0], "t": [0, 0]})
        bucket = s["m"] if mid == manager.id else s["t"]
        bucket[0] += int(status == "passed")
        bucket[1] += 1
    titles = _item_titles(session, manager.id)
    items = []
    for item_id, s in sorted(stats.items()):
        (mp, mn), (tp, tn) = s["m"], s["t"]
        if mn == 0:
            continue
        m_low, m_high = wilson_interval(mp, mn)
        t_low, t_high = wilson_interval(tp, tn)
        items.append({
            "item_id": item_id, "title": titles.get(item_id, item_id), "stage": s["stage"],
            "manager": {"passed": mp, "n": mn, "rate": mp / mn, "ci_low": m_low, "ci_high": m_high},
            "team": {"passed": tp, "n": tn, "rate": tp / tn if tn else None, "ci_low": t_low, "ci_high": t_high},
            "verdict": _verdict(m_low, m_high, t_low, t_high) if tn else "no_team_data",
        })

    metric_rows = session.execute(
        select(AnalysisRow.metrics, Call.manager_id)
        .join(Call, Call.id == AnalysisRow.call_id)
        .join(Manager, Manager.id == Call.manager_id)
        .where(when >= since, team_filter)
    ).all()
    own: dict[str, list[float]] = {}
    team: dict[str, list[float]] = {}
    for metrics, mid in metric_rows:
        target = own if mid == manager.id else team
        for key, value in _numeric_metrics(metrics).items():
            target.setdefault(key, []).append(value)
    speech = []
    for key in sorted(own):
        mine = statistics.fmean(own[key])
        values = sorted(team.get(key, []))
        entry: dict[str, Any] = {"metric": key, "manager_mean": mine, "n": len(own[key]), "team_n": len(values)}
        if len(values) >= 4:
            q1, median, q3 = statistics.quantiles(values, n=4)
            entry.update(team_median=median, team_p25=q1, team_p75=q3,
                         position="below_norm" if mine < q1 else "above_norm" if mine > q3 else "within_norm")
        elif values:
            entry.update(team_median=statistics.median(values), position="too_little_team_data")
        speech.append(entry)

    trend_rows = session.execute(
        select(when, Call.score).where(Call.manager_id == manager.id, when >= since, Call.score.is_not(None))
    ).all()
    weeks: dict[str, list[float]] = {}
    for started, score in trend_rows:
        year, week, _ = started.isocalendar()
        weeks.setdefault(f"{year}-W{week:02d}", []).append(float(score))
    trend = [{"week": w, "calls": len(v), "mean_score": round(statistics.fmean(v), 1)} for w, v in sorted(weeks.items())]

    ranked = sorted(
        (i for i in items if i["manager"]["n"] >= MIN_CALLS_FOR_FOCUS and i["team"]["rate"] is not None
         and i["team"]["rate"] > i["manager"]["rate"]),
        key=lambda i: (i["verdict"] != "below_team", -(i["team"]["rate"] - i["manager"]["rate"])),
    )
    focus = []
    for item in ranked[:3]:
        focus.append({
            "item_id": item["item_id"], "title": item["title"], "stage": item["stage"],
            "manager_rate": item["manager"]["rate"], "team_rate": item["team"]["rate"],
            "significant": item["verdict"] == "below_team",
            "own_clip": _own_clip(session, manager.id, item["item_id"], since, masked),
            "gold_clip": _gold_clip(session, manager.id, item["item_id"], masked),
        })
    return {
        "manager": {"id": manager.id, "name": manager.name, "team": manager.team},
        "window_days": days, "team_size": len(team_ids),
        "items": items, "speech_metrics": speech, "weekly_trend": trend, "focus": focus,
    }


def _item_titles(session: Session, manager_id: int) -> dict[str, str]:
    card = session.scalar(
        select(ScorecardRow).join(Call, Call.id == ScorecardRow.call_id)
        .where(Call.manager_id == manager_id, ScorecardRow.is_current.is_(True))
        .order_by(ScorecardRow.id.desc()).limit(1)
    )
    items = (card.data or {}).get("items", []) if card is not None else []
    return {str(i.get("item_id")): str(i.get("title") or i.get("item_id")) for i in items if isinstance(i, dict)}
