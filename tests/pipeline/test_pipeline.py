"""End to end on the embedded defaults and on PostgreSQL: recordings in, stored calls out."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_cli, stored_rows
from sqlalchemy import select

from callqa import pipeline
from callqa.settings import Settings
from callqa.storage.db import session_scope
from callqa.storage.models import Call, TranscriptSegment

pytestmark = pytest.mark.slow


def test_process_folder_sqlite(sqlite_baseline: tuple[Settings, list[tuple]], mixed_folder: Path) -> None:
    settings, baseline = sqlite_baseline
    url = settings.resolved_database_url
    with session_scope(url) as session:
        calls = session.scalars(select(Call).order_by(Call.id)).all()
        # duplicate content in nested/ is one call, not two
        assert len(calls) == 4
        failed = [c for c in calls if c.state == "failed"]
        done = [c for c in calls if c.state == "done"]
        assert len(failed) == 2 and len(done) == 2
        assert all(c.error for c in failed)
        assert any("0.5 s" in (c.error or "") for c in failed)
        for call in done:
            assert call.manager is not None  # from the sidecar
            segs = session.scalars(select(TranscriptSegment).where(TranscriptSegment.call_id == call.id)).all()
            assert segs, "a transcript is stored"
            assert {s.role for s in segs} <= {"manager", "client", "unknown"}
            assert "manager" in {s.role for s in segs}
            starts = [s.start_s for s in segs]
            assert starts == sorted(starts)
            assert all(0 <= s.start_s <= s.end_s <= call.duration_s + 0.5 for s in segs)
            assert call.call_class is not None and call.outcome is not None
            if call.call_class in ("lead", "upsell", "service"):
                assert call.score is not None, "a sales call gets a checklist score"
    # stored originals: one file per content
    stored = [p for p in (settings.data_dir / "audio").rglob("*") if p.is_file()]
    assert len(stored) == 4

    # re-running the same folder creates nothing new and does not fail the done calls again
    again = run_cli(settings, "process", str(mixed_folder))
    # two bad files fail, the batch goes on, exit status counts them
    assert again.exit_code == 2
    assert "broken.mp3" in again.output
    assert stored_rows(url) == baseline

    status = run_cli(settings, "status")
    assert status.exit_code == 0
    assert "failed" in status.output and "broken.mp3" in status.output

    done_id = next(c for c in calls if c.state == "done").id
    shown = run_cli(settings, "show", str(done_id))
    assert shown.exit_code == 0
    assert "checklist" in shown.output


def test_missing_path_is_a_cli_error(settings: Settings, tmp_path: Path) -> None:
    result = run_cli(settings, "process", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_pipeline_on_postgresql_matches_sqlite(
    sqlite_baseline: tuple[Settings, list[tuple]], pg_url: str, mixed_folder: Path, tmp_path: Path
) -> None:
    pg_settings = Settings(data_dir=tmp_path / "pgdata", database_url=pg_url)
    assert run_cli(pg_settings, "process", str(mixed_folder)).exit_code == 2
    assert stored_rows(pg_url) == sqlite_baseline[1]


def test_steps_are_idempotent(settings: Settings, mixed_folder: Path) -> None:
    wav = next(p for p in mixed_folder.iterdir() if p.suffix != ".json" and p.name not in ("broken.mp3", "blip.wav")
               and p.is_file())
    first = pipeline.ingest_file(settings, wav)
    second = pipeline.ingest_file(settings, wav)
    assert first.created and not second.created and first.call_id == second.call_id
    assert pipeline.process_call(settings, first.call_id) == "done"
    url = settings.resolved_database_url
    before = stored_rows(url)
    # a redelivered task runs the steps again: nothing is written twice
    pipeline.transcribe_step(settings, first.call_id)
    pipeline.score_step(settings, first.call_id)
    pipeline.score_step(settings, first.call_id)
    assert stored_rows(url) == before
