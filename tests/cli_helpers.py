"""Helpers for tests that drive the CLI and compare what runs leave in the database."""

from __future__ import annotations

from sqlalchemy import func, select
from typer.testing import CliRunner

from callqa.cli import app
from callqa.settings import Settings
from callqa.storage.db import session_scope
from callqa.storage.models import Call, ScorecardRow, TranscriptSegment


def _env(settings: Settings) -> dict[str, str]:
    env = {"CALLQA_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["CALLQA_DATABASE_URL"] = settings.database_url
    return env


def run_cli(settings: Settings, *args: str):
    from callqa.settings import get_settings

    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env=_env(settings), catch_exceptions=False)
    finally:
        get_settings.cache_clear()


def stored_rows(url: str) -> list[tuple]:
    """What a run leaves in the database, independent of ids and timestamps."""
    with session_scope(url) as session:
        rows = []
        for call in session.scalars(select(Call).order_by(Call.sha256)):
            n_segments = session.scalar(
                select(func.count()).select_from(TranscriptSegment).where(TranscriptSegment.call_id == call.id)
            )
            cards = sorted(
                (c.checklist_id, c.checklist_version, round(c.auto_total, 1))
                for c in session.scalars(select(ScorecardRow).where(ScorecardRow.call_id == call.id))
            )
            rows.append(
                (call.sha256, call.original_name, call.state, call.call_class, call.outcome,
                 n_segments, tuple(cards), (call.error or "")[:20])
            )
        return rows


