"""Migrations match the models on SQLite and PostgreSQL; metadata lands on the call row."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from callqa.settings import Settings
from callqa.storage import repo
from callqa.storage.db import get_engine, session_scope
from callqa.storage.models import Base, Call, Manager
from callqa.types import CallMetadata, ChannelMap, Segment, Transcript, Word


def _no_drift(url: str) -> None:
    with get_engine(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_sqlite_migrates_itself_and_matches_models(settings: Settings) -> None:
    url = settings.resolved_database_url
    with session_scope(url) as session:
        assert session.scalars(select(Call)).all() == []
    _no_drift(url)


def test_postgresql_migrations_match_models(pg_url: str) -> None:
    _no_drift(pg_url)


def test_metadata_and_transcript_round_trip(settings: Settings) -> None:
    url = settings.resolved_database_url
    meta = CallMetadata(
        external_id="x1", manager="Анна", direction="outbound", source_channel="cold_base",
        client_phone="+79990000000", started_at=datetime(2026, 11, 1, 9, 0, tzinfo=UTC), ring_s=3.0,
        answered=True, crm_deal_id="D1", channel_map=ChannelMap(manager=1, client=0),
    )
    transcript = Transcript(
        segments=(
            Segment(0.0, 1.0, "Добрый день", speaker="manager", role="manager",
                    words=(Word(0.0, 0.5, "Добрый", 0.9), Word(0.5, 1.0, "день", 0.8)), confidence=0.85),
            # offsets as ASR arithmetic leaves them: stored to the millisecond
            Segment(1.2000000000000002, 2.3456789, "да", speaker="client", role="client",
                    words=(Word(1.2000000000000002, 2.3456789, "да", 0.987654321),)),
        ),
        duration_s=3.0, roles={"manager": "manager"}, role_confidence=1.0, flags=("x",), model="base",
    )
    with session_scope(url) as session:
        call = Call(sha256="b" * 64, original_name="a.wav")
        repo.apply_metadata(session, call, meta)
        session.add(call)
        session.flush()
        repo.replace_transcript(session, call, transcript)
        repo.replace_transcript(session, call, transcript)  # idempotent
        call_id = call.id
    with session_scope(url) as session:
        call = session.get(Call, call_id)
        assert call.channel_map == {"manager": 1, "client": 0}
        assert session.scalars(select(Manager)).one().name == "Анна"
        loaded = repo.load_transcript(session, call)
        assert loaded.segments[0].words[1].text == "день"
        assert loaded.roles == {"manager": "manager"} and loaded.flags == ("x",)
        assert loaded.text == "Добрый день да"
        assert (loaded.segments[1].start_s, loaded.segments[1].end_s) == (1.2, 2.346)
        word = loaded.segments[1].words[0]
        assert (word.start_s, word.end_s, word.probability) == (1.2, 2.346, 0.9877)
