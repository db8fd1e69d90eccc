"""Gold library: candidates from scoring; entries tagged by trainers; clips with their transcript; playlists."""

from __future__ import annotations

from typing import Annotated, Any

from callqa.api.auth import Principal
from callqa.api.deps import authorize, get_session
from callqa.api.errors import ApiError, not_found
from callqa.api.privacy import mask_text
from callqa.api.schemas import (
    ClipCreate,
    GoldEntryCreate,
    GoldEntryUpdate,
    IdPath,
    PlaylistCreate,
    PlaylistUpdate,
    Text,
)
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callqa.storage.models import AnalysisRow, Call, Clip, GoldEntry, Playlist, TranscriptSegment

router = APIRouter(prefix="/gold", tags=["gold"])

CLIP_PAD_S = 2.0


def clip_transcript(session: Session, call_id: int, start_s: float, end_s: float, *, masked: bool
                    ) -> list[dict[str, Any]]:
    """Transcript segments overlapping [start_s, end_s] of a call (masked where the role requires)."""
    segs = session.scalars(
        select(TranscriptSegment)
        .where(TranscriptSegment.call_id == call_id, TranscriptSegment.end_s > start_s,
               TranscriptSegment.start_s < end_s)
        .order_by(TranscriptSegment.idx)
    )
    return [{"start_s": s.start_s, "end_s": s.end_s, "speaker": s.speaker, "role": s.role,
             "text": mask_text(s.text) if masked else s.text} for s in segs]


def clip_dict(session: Session, clip: Clip, principal: Principal) -> dict[str, Any]:
    return {
        "id": clip.id, "entry_id": clip.entry_id, "call_id": clip.call_id, "start_s": clip.start_s,
        "end_s": clip.end_s, "title": clip.title, "tags": clip.tags or [],
        "audio_url": f"/api/v1/calls/{clip.call_id}/audio#t={clip.start_s:.1f},{clip.end_s:.1f}",
        "transcript": clip_transcript(session, clip.call_id, clip.start_s, clip.end_s, masked=not principal.sees_pii),
    }


def entry_dict(session: Session, entry: GoldEntry, principal: Principal, *, with_clips: bool = True
               ) -> dict[str, Any]:
    call = session.get(Call, entry.call_id)
    out: dict[str, Any] = {
        "id": entry.id, "call_id": entry.call_id, "title": entry.title, "tags": entry.tags or [],
        "notes": entry.notes, "added_by": entry.added_by, "created_at": entry.created_at,
        "call": {"score": call.score, "manager": call.manager.name if call and call.manager else None,
                 "duration_s": call.duration_s, "call_class": call.call_class} if call else None,
    }
    if with_clips:
        out["clips"] = [clip_dict(session, c, principal) for c in entry.clips]
    return out


@router.get("/candidates")
def candidates(
    session: Session = Depends(get_session),
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    """Calls scoring proposed as gold examples that are not in the library yet, best score first."""
    in_library = select(GoldEntry.call_id)
    stmt = (
        select(Call, AnalysisRow.gold)
        .outerjoin(AnalysisRow, AnalysisRow.call_id == Call.id)
        .where(Call.is_gold_candidate.is_(True), Call.id.not_in(in_library))
        .order_by(Call.score.desc().nulls_last(), Call.id.desc())
        .limit(limit)
    )
    return [{"call_id": c.id, "score": c.score, "manager": c.manager.name if c.manager else None,
             "started_at": c.started_at, "duration_s": c.duration_s, "reasons": gold}
            for c, gold in session.execute(stmt)]


@router.get("/entries")
def list_entries(
    session: Session = Depends(get_session), principal: Principal = Depends(authorize),
    tag: Annotated[Text | None, Query(max_length=100, description="e.g. stage:greeting, item:needs, topic:price")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Library entries, newest first, optionally with a given tag."""
    rows = session.scalars(select(GoldEntry).order_by(GoldEntry.id.desc()))
    out = []
    for entry in rows:
        if tag is not None and tag not in (entry.tags or []) and not any(tag in (c.tags or []) for c in entry.clips):
            continue
        out.append(entry_dict(session, entry, principal, with_clips=False))
        if len(out) >= limit:
            break
    return out


@router.post("/entries", status_code=201)
def add_entry(body: GoldEntryCreate, session: Session = Depends(get_session),
              principal: Principal = Depends(authorize)) -> dict[str, Any]:
    """Add a call to the library with a title, tags (stage:, item:, topic:) and notes."""
    if session.get(Call, body.call_id) is None:
        raise not_found("call", body.call_id)
    entry = GoldEntry(call_id=body.call_id, title=body.title, tags=sorted(set(body.tags)), notes=body.notes,
                      added_by=principal.actor)
    session.add(entry)
    session.commit()
    return entry_dict(session, entry, principal)


def _entry(session: Session, entry_id: int) -> GoldEntry:
    entry = session.get(GoldEntry, entry_id)
    if entry is None:
        raise not_found("gold entry", entry_id)
    return entry


@router.get("/entries/{entry_id}")
def get_entry(entry_id: IdPath, session: Session = Depends(get_session),
              principal: Principal = Depends(authorize)) -> dict[str, Any]:
    return entry_dict(session, _entry(session, entry_id), principal)


@router.patch("/entries/{entry_id}")
def update_entry(entry_id: IdPath, body: GoldEntryUpdate, session: Session = Depends(get_session),
                 principal: Principal = Depends(authorize)) -> dict[str, Any]:
    """Retitle, retag or annotate an entry."""
    entry = _entry(session, entry_id)
    if body.title is not None:
        entry.title = body.title
    if body.tags is not None:
        entry.tags = sorted(set(body.tags))
    if body.notes is not None:
        entry.notes = body.notes
    session.commit()
    return entry_dict(session, entry, principal)


@router.delete("/entries/{entry_id}", status_code=204)
def remove_entry(entry_id: IdPath, session: Session = Depends(get_session)) -> Response:
    """Remove an entry and its clips from the library (the call itself stays)."""
    session.delete(_entry(session, entry_id))
    session.commit()
    return Response(status_code=204)


@router.post("/entries/{entry_id}/clips", status_code=201)
def add_clip(entry_id: IdPath, body: ClipCreate, session: Session = Depends(get_session),
             principal: Principal = Depends(authorize)) -> dict[str, Any]:
    """Cut a clip (a time range of the entry's call); the response carries its transcript."""
    entry = _entry(session, entry_id)
    call = session.get(Call, entry.call_id)
    if body.end_s <= body.start_s:
        raise ApiError(422, "end_s must be greater than start_s", code="validation_error")
    if call is not None and call.duration_s is not None and body.start_s >= call.duration_s:
        raise ApiError(422, f"start_s is past the end of the call ({call.duration_s:.1f} s)", code="validation_error")
    end_s = min(body.end_s, call.duration_s) if call is not None and call.duration_s else body.end_s
    clip = Clip(entry_id=entry.id, call_id=entry.call_id, start_s=body.start_s, end_s=end_s, title=body.title,
                tags=sorted(set(body.tags)))
    session.add(clip)
    session.commit()
    return clip_dict(session, clip, principal)


def _clip(session: Session, clip_id: int) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise not_found("clip", clip_id)
    return clip


@router.get("/clips/{clip_id}")
def get_clip(clip_id: IdPath, session: Session = Depends(get_session),
             principal: Principal = Depends(authorize)) -> dict[str, Any]:
    return clip_dict(session, _clip(session, clip_id), principal)


@router.delete("/clips/{clip_id}", status_code=204)
def remove_clip(clip_id: IdPath, session: Session = Depends(get_session)) -> Response:
    session.delete(_clip(session, clip_id))
    session.commit()
    return Response(status_code=204)


def _playlist_dict(session: Session, playlist: Playlist, principal: Principal, *, with_clips: bool) -> dict[str, Any]:
    ids = [int(i) for i in playlist.clip_ids or []]
    out: dict[str, Any] = {"id": playlist.id, "name": playlist.name, "description": playlist.description,
                           "created_by": playlist.created_by, "created_at": playlist.created_at}
    if with_clips:
        clips = {c.id: c for c in session.scalars(select(Clip).where(Clip.id.in_(ids)))} if ids else {}
        out["clips"] = [clip_dict(session, clips[i], principal) for i in ids if i in clips]  # deleted clips drop out
        out["clip_ids"] = [i for i in ids if i in clips]
    else:
        out["clip_ids"] = ids
    return out


def _check_clips(session: Session, clip_ids: list[int]) -> list[int]:
    ids = list(dict.fromkeys(clip_ids))
    found = set(session.scalars(select(Clip.id).where(Clip.id.in_(ids)))) if ids else set()
    missing = [i for i in ids if i not in found]
    if missing:
        raise ApiError(404, f"clips do not exist: {missing[:20]}", code="not_found", details={"missing": missing})
    return ids


@router.get("/playlists")
def list_playlists(session: Session = Depends(get_session),
                   principal: Principal = Depends(authorize)) -> list[dict[str, Any]]:
    return [_playlist_dict(session, p, principal, with_clips=False)
            for p in session.scalars(select(Playlist).order_by(Playlist.id))]


@router.post("/playlists", status_code=201)
def create_playlist(body: PlaylistCreate, session: Session = Depends(get_session),
                    principal: Principal = Depends(authorize)) -> dict[str, Any]:
    """A named, ordered list of clips (e.g. "Handling the price objection")."""
    playlist = Playlist(name=body.name, description=body.description, clip_ids=_check_clips(session, body.clip_ids),
                        created_by=principal.actor)
    session.add(playlist)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ApiError(409, f"a playlist named {body.name!r} exists", code="conflict") from exc
    return _playlist_dict(session, playlist, principal, with_clips=True)


def _playlist(session: Session, playlist_id: int) -> Playlist:
    playlist = session.get(Playlist, playlist_id)
    if playlist is None:
        raise not_found("playlist", playlist_id)
    return playlist


@router.get("/playlists/{playlist_id}")
def get_playlist(playlist_id: IdPath, session: Session = Depends(get_session),
                 principal: Principal = Depends(authorize)) -> dict[str, Any]:
    return _playlist_dict(session, _playlist(session, playlist_id), principal, with_clips=True)


@router.patch("/playlists/{playlist_id}")
def update_playlist(playlist_id: IdPath, body: PlaylistUpdate, session: Session = Depends(get_session),
                    principal: Principal = Depends(authorize)) -> dict[str, Any]:
    playlist = _playlist(session, playlist_id)
    if body.name is not None:
        playlist.name = body.name
    if body.description is not None:
        playlist.description = body.description
    if body.clip_ids is not None:
        playlist.clip_ids = _check_clips(session, body.clip_ids)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ApiError(409, f"a playlist named {body.name!r} exists", code="conflict") from exc
    return _playlist_dict(session, playlist, principal, with_clips=True)


@router.delete("/playlists/{playlist_id}", status_code=204)
def delete_playlist(playlist_id: IdPath, session: Session = Depends(get_session)) -> Response:
    session.delete(_playlist(session, playlist_id))
    session.commit()
    return Response(status_code=204)
