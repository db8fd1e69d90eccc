"""Calls: upload, list with filters and cursor pagination, get one, audio with Range, exports, delete."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import operator
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import lru_cache
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from callqa.api.auth import Principal
from callqa.api.deps import (
    authorize,
    call_not_found,
    get_session,
    get_settings,
    may_see_call,
    run_read,
    visible_call,
)
from callqa.api.errors import ApiError
from callqa.api.privacy import mask_call_dict, mask_transcript
from callqa.api.schemas import MAX_ID, CallPage, CallSummary, IdPath, Text, UploadAccepted
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from psycopg.adapt import Loader
from sqlalchemy import ColumnElement, Connection, Select, bindparam, exists, func, select, text
from sqlalchemy.orm import Session

from callqa.report import json_default
from callqa.settings import Settings
from callqa.storage import repo
from callqa.storage.db import session_factory
from callqa.storage.models import (
    AuditLog,
    Call,
    CallDocument,
    ItemResult,
    Manager,
    ScorecardRow,
    TranscriptRow,
)

logger = logging.getLogger(__name__)

router = APIRouter(tags=["calls"])

_AUDIO_TYPES = {
    ".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".opus": "audio/ogg", ".oga": "audio/ogg",
    ".m4a": "audio/mp4", ".aac": "audio/aac", ".mp4": "audio/mp4", ".flac": "audio/flac", ".webm": "audio/webm",
}
_EXPORT_TYPES = {
    "json": ("application/json", "json"), "srt": ("application/x-subrip", "srt"),
    "vtt": ("text/vtt", "vtt"), "rttm": ("text/plain", "rttm"),
}
_executor: ThreadPoolExecutor | None = None


def audit(session: Session, principal: Principal, action: str, call_id: int | None, **details: Any) -> None:
    """Record who did what to which call (committed with the caller's transaction)."""
    session.add(AuditLog(actor=principal.actor, role=principal.role, action=action, call_id=call_id,
                         details=details or None))


def commit_read_audit(session: Session) -> None:
    """Commit a read's audit row. On PostgreSQL without waiting for the WAL flush: a crash may lose the
    last fraction of a second of read records (never data changes), and each read saves an fsync."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))
    session.commit()


def safe_filename(name: str | None) -> str:
    """A display name from a client-supplied file name: no folders, no control characters, bounded."""
    name = (name or "").replace("\x00", "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return name[:200] or "upload"


def _process_in_background(settings: Settings, call_id: int) -> None:
    """Without a broker: run the pipeline in one background thread, one call at a time."""
    global _executor
    from callqa import pipeline

    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="callqa-pipeline")
    _executor.submit(pipeline.process_call, settings, call_id)


def _check_length(request: Request) -> None:
    settings: Settings = request.app.state.settings
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > settings.max_upload_mb * (1 << 20) + (1 << 20):
        raise ApiError(413, f"upload exceeds the limit of {settings.max_upload_mb} MB",
                       details={"limit_mb": settings.max_upload_mb})


def _probe_audio(path: FsPath) -> None:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise ApiError(415, "the file has no audio stream")
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - any container error means "not audio we can read"
        raise ApiError(415, "the file is not a readable audio recording",
                       details={"reason": str(exc)[:300]}) from exc


@router.post("/calls", status_code=202, response_model=UploadAccepted, dependencies=[Depends(_check_length)],
             responses={413: {"description": "Too large"}, 415: {"description": "Not supported audio"}})
def upload_call(
    file: Annotated[UploadFile, File(description="The recording (wav, mp3, ogg, opus, m4a, aac, mp4, flac, webm)")],
    external_id: Annotated[Text | None, Form(max_length=200)] = None,
    manager: Annotated[Text | None, Form(max_length=200)] = None,
    direction: Annotated[Literal["inbound", "outbound", "unknown"] | None, Form()] = None,
    source_channel: Annotated[Text | None, Form(max_length=200)] = None,
    campaign: Annotated[Text | None, Form(max_length=200)] = None,
    client_phone: Annotated[Text | None, Form(max_length=50)] = None,
    started_at: Annotated[datetime | None, Form()] = None,
    ring_s: Annotated[float | None, Form(ge=0, le=86400, allow_inf_nan=False)] = None,
    answered: Annotated[bool | None, Form()] = None,
    crm_deal_id: Annotated[Text | None, Form(max_length=200)] = None,
    channel_map: Annotated[Literal["left", "right"] | None, Form()] = None,
    settings: Settings = Depends(get_settings),
    principal: Principal = Depends(authorize),
) -> UploadAccepted:
    """Upload a recording with its metadata; it is queued for transcription and scoring (202)."""
    from callqa.ingest import SUPPORTED_EXTENSIONS, MetadataError, metadata_from_mapping
    from callqa.ingest.store import receive_stream

    from callqa import pipeline

    name = safe_filename(file.filename)
    ext = FsPath(name).suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise ApiError(415, f"unsupported file type {ext or '(none)'!r}",
                       details={"supported": list(SUPPORTED_EXTENSIONS)})
    fields = {
        "external_id": external_id, "manager": manager, "direction": direction, "source_channel": source_channel,
        "campaign": campaign, "client_phone": client_phone, "started_at": started_at, "ring_s": ring_s,
        "answered": answered, "crm_deal_id": crm_deal_id, "channel_map": channel_map,
    }
    try:
        meta = metadata_from_mapping({k: v for k, v in fields.items() if v is not None}, where="upload")
    except (MetadataError, ValueError) as exc:
        raise ApiError(422, str(exc), code="validation_error") from exc
    incoming = settings.data_dir / "incoming"
    try:
        tmp, digest, size = receive_stream(file.file, incoming, max_bytes=settings.max_upload_mb * (1 << 20))
    except ValueError as exc:
        raise ApiError(413, str(exc), details={"limit_mb": settings.max_upload_mb}) from exc
    try:
        if size == 0:
            raise ApiError(415, "the file is empty")
        _probe_audio(tmp)
        result = pipeline.ingest_file(settings, tmp, metadata=meta, original_name=name, sha256=digest)
    finally:
        tmp.unlink(missing_ok=True)
    task_id = None
    if result.created:
        if settings.broker_url:
            from callqa.tasks import enqueue_call

            task_id = enqueue_call(result.call_id)
        else:
            _process_in_background(settings, result.call_id)
    logger.info("upload %s -> call %s (created=%s) by %s", name, result.call_id, result.created, principal.actor)
    return UploadAccepted(call_id=result.call_id, state=result.state, created=result.created, task_id=task_id)


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, "invalid cursor", code="bad_cursor") from exc


def _casefold(value: str | None) -> str | None:
    return value.casefold() if value is not None else None


def _text_contains(conn: Connection, q: str) -> ColumnElement[bool]:
    """Case-insensitive substring match on the transcript text, Cyrillic included."""
    if conn.dialect.name == "sqlite":
        # SQLite's lower()/LIKE fold ASCII only: use Python's casefold on this connection.
        raw = conn.connection.driver_connection
        raw.create_function("callqa_casefold", 1, _casefold, deterministic=True)
        return func.instr(func.callqa_casefold(TranscriptRow.text), q.casefold()) > 0
    return TranscriptRow.text.icontains(q, autoescape=True)


_SUMMARY_COLUMNS = (
    Call.id, Call.original_name.label("file"), Call.state, Call.manager_id, Call.direction, Call.source_channel,
    Call.campaign, Call.started_at, Call.duration_s, Call.score, Call.call_class, Call.outcome, Call.updated_at,
)


def summary(call: Call) -> CallSummary:
    return CallSummary(
        id=call.id, file=call.original_name, state=call.state, manager_id=call.manager_id,
        manager=call.manager.name if call.manager else None, direction=call.direction,
        source_channel=call.source_channel, campaign=call.campaign, started_at=call.started_at,
        duration_s=call.duration_s, score=call.score, call_class=call.call_class, outcome=call.outcome,
        updated_at=call.updated_at,
    )


@router.get("/calls", response_model=CallPage)
async def list_calls(
    request: Request,
    principal: Principal = Depends(authorize),
    manager_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    date_from: Annotated[datetime | None, Query(description="started_at >= (ISO 8601)")] = None,
    date_to: Annotated[datetime | None, Query(description="started_at < (ISO 8601)")] = None,
    call_class: Annotated[Literal["lead", "non_target", "spam", "upsell", "service"] | None, Query()] = None,
    outcome: Annotated[Literal["sale", "next_step", "callback", "refusal", "none"] | None, Query()] = None,
    score_min: Annotated[float | None, Query(ge=0, le=100)] = None,
    score_max: Annotated[float | None, Query(ge=0, le=100)] = None,
    failed_item: Annotated[Text | None, Query(max_length=100, description="Checklist item id failed (final)")] = None,
    channel: Annotated[Text | None, Query(max_length=200, description="Lead source channel")] = None,
    campaign: Annotated[Text | None, Query(max_length=200)] = None,
    state: Annotated[Literal["received", "transcribing", "scoring", "done", "failed"] | None, Query()] = None,
    q: Annotated[Text | None, Query(min_length=2, max_length=200, description="Text search in transcripts")] = None,
    cursor: Annotated[Text | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CallPage:
    """Calls, newest first, filtered; follow ``next_cursor`` for the next page. Managers see their own only."""
    filters = {
        "manager_id": manager_id, "date_from": date_from, "date_to": date_to, "call_class": call_class,
        "outcome": outcome, "score_min": score_min, "score_max": score_max, "failed_item": failed_item,
        "channel": channel, "campaign": campaign, "state": state, "q": q, "cursor": cursor, "limit": limit,
    }

    def page() -> str:
        return run_read(request.app.state.settings.resolved_database_url,
                        lambda conn: _call_page(conn, principal, **filters))

    # Plain column filters walk an index and finish in about a millisecond: run them on the event loop.
    # Text search and the failed-item join may take longer, so they go to the thread pool.
    body = await run_in_threadpool(page) if q is not None or failed_item is not None else page()
    return Response(body, media_type="application/json")  # type: ignore[return-value]


# Plain filters of the list: query name -> (column, comparison). Their statement is built once per
# combination with bound parameters, so a page costs no statement construction.
_PLAIN_FILTERS: dict[str, tuple[Any, str]] = {
    "principal_manager_id": (Call.manager_id, "=="), "manager_id": (Call.manager_id, "=="),
    "date_from": (Call.started_at, ">="), "date_to": (Call.started_at, "<"),
    "call_class": (Call.call_class, "=="), "outcome": (Call.outcome, "=="),
    "score_min": (Call.score, ">="), "score_max": (Call.score, "<="),
    "channel": (Call.source_channel, "=="), "campaign": (Call.campaign, "=="), "state": (Call.state, "=="),
    "before_id": (Call.id, "<"),
}
_OPS = {"==": operator.eq, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_PAGE_KEYS = ("id", "file", "state", "manager_id", "direction", "source_channel", "campaign", "started_at",
              "duration_s", "score", "call_class", "outcome", "updated_at", "manager")


@lru_cache(maxsize=512)
def _page_statement(names: tuple[str, ...]) -> Select[Any]:
    # Summary columns only (Core rows, no ORM objects); newest id first, so an equality filter walks
    # its (column, id) index in order and stops after limit + 1 rows.
    stmt = (select(*_SUMMARY_COLUMNS, Manager.name.label("manager"))
            .outerjoin(Manager, Manager.id == Call.manager_id).order_by(Call.id.desc()))
    for name in names:
        column, op = _PLAIN_FILTERS[name]
        stmt = stmt.where(_OPS[op](column, bindparam(name)))
    return stmt.limit(bindparam("limit"))


@lru_cache(maxsize=512)
def _compiled_sql(names: tuple[str, ...], dialect: Any) -> str:
    return str(_page_statement(names).compile(dialect=dialect))


def _call_page(
    conn: Connection, principal: Principal, *, manager_id: int | None, date_from: datetime | None,
    date_to: datetime | None, call_class: str | None, outcome: str | None, score_min: float | None,
    score_max: float | None, failed_item: str | None, channel: str | None, campaign: str | None,
    state: str | None, q: str | None, cursor: str | None, limit: int,
) -> str:
    params: dict[str, Any] = {
        "manager_id": manager_id, "date_from": date_from, "date_to": date_to, "call_class": call_class,
        "outcome": outcome, "score_min": score_min, "score_max": score_max, "channel": channel,
        "campaign": campaign, "state": state,
        "principal_manager_id": principal.manager_id if principal.role == "manager" else None,
    }
    if principal.role == "manager" and principal.manager_id is None:
        return CallPage(items=[], next_cursor=None).model_dump_json()
    if cursor is not None:
        raw = decode_cursor(cursor)
        if not raw.isdigit() or int(raw) > MAX_ID:
            raise ApiError(400, "invalid cursor", code="bad_cursor")
        params["before_id"] = int(raw)
    params = {k: v for k, v in params.items() if v is not None}
    names = tuple(sorted(params))
    params["limit"] = limit + 1
    if failed_item is None and q is None:
        if conn.dialect.name == "postgresql":  # the cached SQL text straight to the driver: no compile
            cur = conn.connection.driver_connection.cursor()
            try:
                cur.execute(_compiled_sql(names, conn.dialect), params)
                rows = cur.fetchall()
            finally:
                cur.close()
        else:
            rows = conn.execute(_page_statement(names), params).all()
    else:
        stmt = _page_statement(names)
        if failed_item is not None:
            stmt = stmt.where(
                exists(
                    select(ItemResult.id)
                    .join(ScorecardRow, ScorecardRow.id == ItemResult.scorecard_id)
                    .where(ItemResult.call_id == Call.id, ItemResult.item_id == failed_item,
                           ItemResult.final_status == "failed", ScorecardRow.is_current.is_(True))
                )
            )
        if q is not None:
            stmt = stmt.where(exists(select(TranscriptRow.id).where(TranscriptRow.call_id == Call.id,
                                                                     _text_contains(conn, q))))
        rows = conn.execute(stmt, params).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(str(rows[-1][0])) if more and rows else None
    items = [dict(zip(_PAGE_KEYS, row, strict=True)) for row in rows]
    return json.dumps({"items": items, "next_cursor": next_cursor}, ensure_ascii=False, default=json_default)


@router.get("/calls/{call_id}", response_class=JSONResponse,
            responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}})
async def get_call(call_id: IdPath, request: Request, principal: Principal = Depends(authorize)) -> Response:
    """The whole call: metadata, state, transcript, scorecards (automatic and final), metrics, class."""
    url = request.app.state.settings.resolved_database_url
    # The hottest request: one indexed row (the document rendered when the call last changed), read on
    # the event loop in one round trip; a thread-pool hand-off would cost more than the query.
    body = run_read(url, lambda conn: _stored_body(conn, principal, call_id))
    if body is None:  # no document yet, or no masked one: render it (and keep it) in a worker thread
        body = await run_in_threadpool(_render_body, url, principal, call_id)
    request.app.state.audit_buffer.add(actor=principal.actor, role=principal.role, action="read_call",
                                       call_id=call_id)
    return Response(body, media_type="application/json")


_DOCUMENT_STMT = (select(Call.manager_id, CallDocument.body, CallDocument.body_masked)
                  .outerjoin(CallDocument, CallDocument.call_id == Call.id).where(Call.id == bindparam("call_id")))
_DOCUMENT_SQL_PG = ("SELECT c.manager_id, d.body, d.body_masked FROM calls c "
                    "LEFT JOIN call_documents d ON d.call_id = c.id WHERE c.id = %s")


class _Utf8Bytes(Loader):
    """Loads a text column as its UTF-8 bytes: a stored document goes out as it came in, with no
    decode to str and encode back (two passes over ~96 KB for a five-minute call)."""

    def load(self, data: Any) -> bytes:
        return bytes(data)


def _stored_body(conn: Connection, principal: Principal, call_id: int) -> str | bytes | None:
    """The stored document the caller may read; None where it must be rendered first."""
    if conn.dialect.name == "postgresql":  # straight to the driver: no statement compile, no result wrapping
        raw = conn.connection.driver_connection
        cur = raw.cursor()
        if raw.info.encoding == "utf-8":
            cur.adapters.register_loader("text", _Utf8Bytes)
        try:
            row = cur.execute(_DOCUMENT_SQL_PG, (call_id,)).fetchone()
        finally:
            cur.close()
    else:
        row = conn.execute(_DOCUMENT_STMT, {"call_id": call_id}).first()
    if row is None or not may_see_call(conn, principal, call_id, row[0]):
        raise call_not_found(call_id)
    return row[1] if principal.sees_pii else row[2]


def _render_body(url: str, principal: Principal, call_id: int) -> str:
    with session_factory(url)() as session:
        return _call_body(session, principal, call_id)


def _call_body(session: Session, principal: Principal, call_id: int) -> str:
    from callqa.report import call_document, document_json, store_masked_document

    doc = call_document(session, call_id)
    if doc is None or not may_see_call(session, principal, call_id, doc.manager_id):
        raise call_not_found(call_id)
    body, wrote = doc.body, doc.fresh
    if not principal.sees_pii:
        if doc.body_masked is None:  # masked once per document version, then kept
            body = document_json(mask_call_dict(json.loads(doc.body)))
            store_masked_document(session, call_id, body, rendered_at=doc.rendered_at)
            wrote = True
        else:
            body = doc.body_masked
    if wrote:
        session.commit()
    return body


@router.get("/calls/{call_id}/audio", response_class=FileResponse,
            responses={200: {"content": {"audio/*": {}}}, 206: {"description": "Partial content (Range)"},
                       416: {"description": "Range not satisfiable"}})
def get_audio(
    call_id: IdPath, request: Request, session: Session = Depends(get_session),
    principal: Principal = Depends(authorize), settings: Settings = Depends(get_settings),
) -> Response:
    """The original recording; supports HTTP Range requests for seeking."""
    call = visible_call(session, principal, call_id)
    path = settings.audio_dir / (call.audio_path or "")
    if not call.audio_path or not path.is_file():
        raise ApiError(404, f"the audio of call {call_id} is not stored", code="not_found")
    if "range" not in request.headers:  # one audit row per listen, not per seek
        audit(session, principal, "listen", call.id)
        commit_read_audit(session)
    return FileResponse(path, media_type=_AUDIO_TYPES.get(path.suffix.lower(), "application/octet-stream"))


@router.get("/calls/{call_id}/export", responses={200: {"content": {"text/plain": {}, "application/json": {}}}})
def export_call(
    call_id: IdPath,
    format: Annotated[Literal["json", "srt", "vtt", "rttm"], Query(description="json, srt, vtt or rttm")] = "json",
    session: Session = Depends(get_session), principal: Principal = Depends(authorize),
) -> Response:
    """Export the call as JSON (everything) or its transcript as SRT, WebVTT or RTTM."""
    from callqa.report import call_dict, render_call

    call = visible_call(session, principal, call_id)
    media_type, ext = _EXPORT_TYPES[format]
    if principal.sees_pii:
        body = render_call(session, call, fmt=format)
    elif format == "json":
        body = json.dumps(mask_call_dict(call_dict(session, call)), ensure_ascii=False, indent=2, default=str)
    else:
        from callqa.asr import export

        transcript = mask_transcript(repo.load_transcript(session, call))
        if format == "srt":
            body = export.to_srt(transcript)
        elif format == "vtt":
            body = export.to_vtt(transcript)
        else:  # RTTM carries no text; rendered from the same transcript for one code path
            body = export.to_rttm(transcript, file_id=f"call{call.id}")
    audit(session, principal, "export", call.id, format=format)
    commit_read_audit(session)
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="call-{call.id}.{ext}"'})


@router.delete("/calls/{call_id}", status_code=204)
def delete_call(
    call_id: IdPath, session: Session = Depends(get_session), principal: Principal = Depends(authorize),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Delete the call: its audio file is removed from disk and every row that belongs to it."""
    from callqa.ingest.store import delete_file

    call = visible_call(session, principal, call_id)
    removed = delete_file(settings.audio_dir, call.audio_path)
    audit(session, principal, "delete", call.id, file=call.original_name, audio_removed=removed)
    session.delete(call)
    session.commit()
    return Response(status_code=204)
