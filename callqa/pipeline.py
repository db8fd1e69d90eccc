"""Pipeline steps as plain functions: ingest -> transcribe -> score -> notify.

Each step takes ids (never ORM objects or audio), is idempotent (running it twice leaves one result)
and records a terminal ``failed`` state with the reason on the call row. Celery tasks and the CLI are
thin shells around these functions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callqa.ingest import AudioDecodeError, decode_audio, sha256_file, store_file
from callqa.settings import Settings
from callqa.storage import repo
from callqa.storage.db import session_scope
from callqa.storage.models import (
    Call,
)
from callqa.types import CallMetadata, ChannelMap

logger = logging.getLogger(__name__)

ProgressFn = Callable[[float], None]


class StepError(RuntimeError):
    """A step failed for a reason that is the input's fault (stored on the call, no retry)."""


@dataclass(frozen=True)
class IngestResult:
    call_id: int
    created: bool
    state: str


def ingest_file(
    settings: Settings, path: Path, *, metadata: CallMetadata | None = None, original_name: str | None = None,
    sha256: str | None = None,
) -> IngestResult:
    """Store the original content-addressed and create the call row (once per content)."""
    digest = sha256 or sha256_file(path)
    with session_scope(settings.resolved_database_url) as session:
        existing = session.scalar(select(Call).where(Call.sha256 == digest))
        if existing is not None:
            return IngestResult(existing.id, False, existing.state)
        rel = store_file(settings.audio_dir, path, digest)
        call = Call(
            sha256=digest,
            original_name=(original_name or path.name)[:500],
            audio_path=rel,
            size_bytes=path.stat().st_size,
            state="received",
        )
        if metadata is not None:
            repo.apply_metadata(session, call, metadata)
        session.add(call)
        session.flush()
        return IngestResult(call.id, True, call.state)


def fail_call(settings: Settings, call_id: int, reason: str) -> None:
    with session_scope(settings.resolved_database_url) as session:
        call = session.get(Call, call_id)
        if call is not None:
            call.state = "failed"
            call.error = reason[:4000]


def _set_state(session: Session, call: Call, state: str) -> None:
    call.state = state
    call.error = None
    session.commit()


def asr_options(settings: Settings):  # type: ignore[no-untyped-def]
    from callqa.asr import AsrOptions, DiarizeOptions

    return AsrOptions(
        model=settings.asr_model,
        device=settings.asr_device,
        compute_type=settings.asr_compute_type,
        beam_size=settings.asr_beam_size,
        batch_size=settings.asr_batch_size,
        cpu_threads=settings.asr_cpu_threads,
        language=settings.asr_language,
        cache_dir=settings.resolved_model_cache_dir,
        diarization=DiarizeOptions(
            backend=settings.diarization_backend,
            pyannote_model=settings.pyannote_model,
            pyannote_token=settings.hf_token,
        ),
    )


@lru_cache(maxsize=4)
def _checklists(checklists_dir: str | None):  # type: ignore[no-untyped-def]
    from callqa.scoring import load_checklists

    return tuple(load_checklists(Path(checklists_dir) if checklists_dir else None))


def checklists_for(settings: Settings):  # type: ignore[no-untyped-def]
    return _checklists(str(settings.checklists_dir) if settings.checklists_dir else None)


def reload_checklists() -> None:
    """Forget cached checklists so edited YAML files are read again."""
    _checklists.cache_clear()


def hotwords_for(settings: Settings) -> str | None:
    words = list(settings.company_name_list)
    return ", ".join(words) if words else None


def transcribe_step(settings: Settings, call_id: int, *, progress: ProgressFn | None = None) -> str:
    """Decode the stored original and write the transcript (replacing any earlier one)."""
    from callqa.asr import transcribe_call

    url = settings.resolved_database_url
    with session_scope(url) as session:
        call = session.get(Call, call_id)
        if call is None:
            raise StepError(f"call {call_id} does not exist")
        if call.state in ("scoring", "done"):
            return call.state  # already transcribed: idempotent no-op
        call.attempts += 1
        _set_state(session, call, "transcribing")
        audio_path = settings.audio_dir / (call.audio_path or "")
        channel_map = ChannelMap.parse(call.channel_map or settings.default_channel_map)
    started = time.perf_counter()
    try:
        audio = decode_audio(audio_path)
    except AudioDecodeError as exc:
        raise StepError(str(exc)) from exc
    try:
        transcript = transcribe_call(
            audio, asr_options(settings), channel_map=channel_map, hotwords=hotwords_for(settings), progress=progress
        )
    except ValueError as exc:
        raise StepError(f"transcription failed: {exc}") from exc
    with session_scope(url) as session:
        call = session.get(Call, call_id)
        assert call is not None
        call.duration_s = audio.duration_s
        call.n_channels = audio.n_channels
        call.source_sample_rate_hz = audio.source_sample_rate_hz
        call.source_format = audio.source_format
        call.asr_model = transcript.model or settings.asr_model
        call.processing_s = time.perf_counter() - started
        repo.replace_transcript(session, call, transcript)
        call.state = "scoring"
        call.error = None
    return "scoring"


def score_step(settings: Settings, call_id: int) -> str:
    """Score the stored transcript against the checklists, compute metrics and class; store results."""
    from callqa.scoring import analyze_call

    url = settings.resolved_database_url
    with session_scope(url) as session:
        call = session.get(Call, call_id)
        if call is None:
            raise StepError(f"call {call_id} does not exist")
        if call.state not in ("scoring", "done"):
            raise StepError(f"call {call_id} is {call.state}; it needs a transcript before scoring")
        transcript = repo.load_transcript(session, call)
        context = repo.call_context(session, call, settings)
        audio_rel = call.audio_path
    audio = None
    try:
        audio = decode_audio(settings.audio_dir / (audio_rel or "")).mono()
    except AudioDecodeError:
        audio = None  # prosody needs audio; the rest of the scorecard does not
    analysis = analyze_call(transcript, context=context, checklists=checklists_for(settings), audio=audio)
    with session_scope(url) as session:
        call = session.get(Call, call_id)
        assert call is not None
        repo.store_analysis(session, call, analysis.to_dict())
        call.state = "done"
        call.error = None
    return "done"


def notify_step(settings: Settings, call_id: int) -> int:
    """Queue and attempt webhook deliveries for a scored call; returns how many were delivered."""
    from callqa import webhooks

    return webhooks.deliver_for_call(settings, call_id)


def process_call(settings: Settings, call_id: int, *, progress: ProgressFn | None = None) -> str:
    """Run transcribe -> score -> notify in-process, storing a failure with its reason."""
    try:
        transcribe_step(settings, call_id, progress=progress)
        score_step(settings, call_id)
    except StepError as exc:
        fail_call(settings, call_id, str(exc))
        return "failed"
    except Exception as exc:  # noqa: BLE001 - one bad call must not stop the batch
        logger.exception("call %s failed", call_id)
        fail_call(settings, call_id, f"{type(exc).__name__}: {exc}")
        return "failed"
    try:
        notify_step(settings, call_id)
    except Exception:  # noqa: BLE001 - delivery problems are logged per delivery, never fail the call
        logger.exception("webhook delivery for call %s failed", call_id)
    return "done"


def rescore(settings: Settings, call_id: int) -> str:
    """Score again (e.g. after a checklist change); earlier checklist versions stay stored."""
    try:
        return score_step(settings, call_id)
    except StepError as exc:
        fail_call(settings, call_id, str(exc))
        return "failed"


def callback_due(started_at: datetime | None, classification: dict[str, Any] | None) -> datetime | None:
    """When a promised call-back is due: the call's start plus the classifier's due offset (which the
    classifier computed from that same start, so weekday deadlines are exact)."""
    if not classification:
        return None
    days = classification.get("callback_due_days")
    if days is None:
        return None
    base = started_at or datetime.now(UTC)
    if base.tzinfo is None:
        base = base.replace(tzinfo=UTC)
    return base + timedelta(days=float(days))


__all__ = [
    "IngestResult", "StepError", "ingest_file", "transcribe_step", "score_step", "notify_step", "process_call",
    "rescore", "fail_call", "callback_due", "reload_checklists",
]
