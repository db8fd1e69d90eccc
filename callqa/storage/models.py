"""SQLAlchemy 2 ORM models: the quality database.

Portable across SQLite (embedded default) and PostgreSQL: JSON columns use the generic JSON type,
timestamps are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    event,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Manager(Base):
    __tablename__ = "managers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    team: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    calls: Mapped[list[Call]] = relationship(back_populates="manager")


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_state", "state"),
        Index("ix_calls_started_at", "started_at"),
        Index("ix_calls_updated_at", "updated_at"),
        Index("ix_calls_client_phone", "client_phone"),
        Index("ix_calls_crm_deal_id", "crm_deal_id"),
        Index("ix_calls_manager_started", "manager_id", "started_at"),
        # keyset pages (newest id first) under one equality filter: an ordered index range scan
        Index("ix_calls_manager_id_id", "manager_id", "id"),
        Index("ix_calls_class_id", "call_class", "id"),
        Index("ix_calls_outcome_id", "outcome", "id"),
        Index("ix_calls_channel_id", "source_channel", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(500))
    audio_path: Mapped[str | None] = mapped_column(String(1000))  # relative to the audio store
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(20), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    # audio facts
    duration_s: Mapped[float | None] = mapped_column(Float)
    n_channels: Mapped[int | None] = mapped_column(Integer)
    source_sample_rate_hz: Mapped[int | None] = mapped_column(Integer)
    source_format: Mapped[str | None] = mapped_column(String(100))

    # metadata
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id", ondelete="SET NULL"))
    direction: Mapped[str] = mapped_column(String(20), default="unknown")
    source_channel: Mapped[str | None] = mapped_column(String(200), index=True)
    campaign: Mapped[str | None] = mapped_column(String(200), index=True)
    client_phone: Mapped[str | None] = mapped_column(String(50))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ring_s: Mapped[float | None] = mapped_column(Float)
    answered: Mapped[bool | None] = mapped_column(Boolean)
    crm_deal_id: Mapped[str | None] = mapped_column(String(200))
    channel_map: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    # denormalised results for fast filtering (automatic values; final = after overrides)
    score: Mapped[float | None] = mapped_column(Float, index=True)
    checklist_id: Mapped[str | None] = mapped_column(String(100))
    call_class: Mapped[str | None] = mapped_column(String(30), index=True)
    outcome: Mapped[str | None] = mapped_column(String(30), index=True)
    callback_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_gold_candidate: Mapped[bool] = mapped_column(Boolean, default=False)
    asr_model: Mapped[str | None] = mapped_column(String(300))
    processing_s: Mapped[float | None] = mapped_column(Float)

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    manager: Mapped[Manager | None] = relationship(back_populates="calls")
    segments: Mapped[list[TranscriptSegment]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="TranscriptSegment.idx"
    )
    transcript: Mapped[TranscriptRow | None] = relationship(back_populates="call", cascade="all, delete-orphan")
    scorecards: Mapped[list[ScorecardRow]] = relationship(back_populates="call", cascade="all, delete-orphan")
    analysis: Mapped[AnalysisRow | None] = relationship(back_populates="call", cascade="all, delete-orphan")


class TranscriptRow(Base):
    """Call-level transcript facts; the segments live in transcript_segments."""

    __tablename__ = "transcripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    language: Mapped[str] = mapped_column(String(10), default="ru")
    model: Mapped[str | None] = mapped_column(String(300))
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    roles: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    role_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    turns: Mapped[list[Any]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text, default="")  # full text for search
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    call: Mapped[Call] = relationship(back_populates="transcript")


class TranscriptSegment(Base):
    __tablename__ = "transcript_segments"
    __table_args__ = (UniqueConstraint("call_id", "idx"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    speaker: Mapped[str | None] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20), default="unknown")
    channel: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    words: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{start_s, end_s, text, probability}]

    call: Mapped[Call] = relationship(back_populates="segments")


class ScorecardRow(Base):
    """One checklist result for one call; a new checklist version adds a row, never replaces one."""

    __tablename__ = "scorecards"
    __table_args__ = (UniqueConstraint("call_id", "checklist_id", "checklist_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    checklist_id: Mapped[str] = mapped_column(String(100))
    checklist_version: Mapped[str] = mapped_column(String(50))
    auto_total: Mapped[float | None] = mapped_column(Float)  # None: no item applied
    final_total: Mapped[float | None] = mapped_column(Float)
    critical_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # full scorecard as scoring produced it
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    call: Mapped[Call] = relationship(back_populates="scorecards")
    items: Mapped[list[ItemResult]] = relationship(back_populates="scorecard", cascade="all, delete-orphan")


class ItemResult(Base):
    """Per-item verdict, automatic and final (after a head of sales override)."""

    __tablename__ = "item_results"
    __table_args__ = (
        UniqueConstraint("scorecard_id", "item_id"),
        Index("ix_item_results_item_final", "item_id", "final_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(100))
    auto_status: Mapped[str] = mapped_column(String(20))
    final_status: Mapped[str] = mapped_column(String(20))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)

    scorecard: Mapped[ScorecardRow] = relationship(back_populates="items")


class AnalysisRow(Base):
    """Speech metrics, classification, PII spans and gold-candidate reasons of the latest analysis."""

    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    classification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pii_spans: Mapped[list[Any]] = mapped_column(JSON, default=list)
    gold: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    auto_class: Mapped[str | None] = mapped_column(String(30))
    auto_outcome: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    call: Mapped[Call] = relationship(back_populates="analysis")


class Override(Base):
    """A head of sales changing an item verdict, a class or an outcome, with the reason."""

    __tablename__ = "overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(String(20))  # item | class | outcome
    item_id: Mapped[str | None] = mapped_column(String(100))
    scorecard_id: Mapped[int | None] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"))
    before: Mapped[str | None] = mapped_column(String(50))
    after: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_call", "call_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(50))  # read_call, export, override, delete, ...
    call_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GoldEntry(Base):
    __tablename__ = "gold_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)  # stage:..., item:..., topic:...
    notes: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    clips: Mapped[list[Clip]] = relationship(back_populates="entry", cascade="all, delete-orphan")


class Clip(Base):
    __tablename__ = "clips"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("gold_entries.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    title: Mapped[str | None] = mapped_column(String(300))
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    entry: Mapped[GoldEntry] = relationship(back_populates="clips")


class Playlist(Base):
    __tablename__ = "playlists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    clip_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(30))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    events: Mapped[list[Any]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("webhook_id", "call_id", "event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[int | None] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(50))
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class CallDocument(Base):
    """The call as the API serves it (``report.call_dict`` plus ``manager_id``/``campaign``), rendered
    as JSON text so that reading a call is one indexed row. Kept current by the session hooks below;
    ``body_masked`` (personal data masked) is filled on first use by a role that needs it."""

    __tablename__ = "call_documents"

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    body_masked: Mapped[str | None] = mapped_column(Text)
    rendered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# Rows that feed a call's document; a change to any of them re-renders it before the commit.
_DOCUMENT_SOURCES = (TranscriptRow, TranscriptSegment, ScorecardRow, ItemResult, AnalysisRow)
_STALE_CALLS = "callqa_stale_call_documents"
_STALE_MANAGERS = "callqa_stale_manager_documents"


@event.listens_for(Session, "after_flush")
def _note_stale_documents(session: Session, _flush_context: Any) -> None:
    calls: set[int] = session.info.setdefault(_STALE_CALLS, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Call):
            if obj.id is not None:
                calls.add(obj.id)
        elif isinstance(obj, _DOCUMENT_SOURCES):
            if obj.call_id is not None:
                calls.add(obj.call_id)
        elif isinstance(obj, Manager) and obj.id is not None and obj not in session.new:
            session.info.setdefault(_STALE_MANAGERS, set()).add(obj.id)


@event.listens_for(Session, "before_commit")
def _refresh_stale_documents(session: Session) -> None:
    """Re-render the documents of the calls this transaction changed, inside the same transaction, so a
    committed change and its document are never out of step (a concurrent lazy render only inserts
    where no document exists, so it cannot overwrite this one)."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    calls = session.info.pop(_STALE_CALLS, None)
    managers = session.info.pop(_STALE_MANAGERS, None)
    if managers:  # a renamed manager: drop that manager's documents, rendered again when read
        session.execute(delete(CallDocument).where(
            CallDocument.call_id.in_(select(Call.id).where(Call.manager_id.in_(sorted(managers))))))
    if calls:
        from callqa.report import refresh_call_documents

        refresh_call_documents(session, sorted(calls))


@event.listens_for(Session, "after_rollback")
def _forget_stale_documents(session: Session) -> None:
    session.info.pop(_STALE_CALLS, None)
    session.info.pop(_STALE_MANAGERS, None)
