"""Celery on the real Redis with a real worker process: same rows as the in-process run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import stored_rows

from callqa.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.services]


def _flush(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def test_worker_on_redis_and_postgresql_gives_same_rows(
    sqlite_baseline: tuple[Settings, list[tuple]], pg_url: str, redis_url: str, mixed_folder: Path,
    tmp_path: Path,
) -> None:
    _flush(redis_url)
    env = dict(os.environ)
    env.update(
        CALLQA_BROKER_URL=redis_url,
        CALLQA_DATABASE_URL=pg_url,
        CALLQA_DATA_DIR=str(tmp_path / "shared-data"),
    )
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "callqa", "worker", "--queues", "asr,score", "--concurrency", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "callqa", "process", str(mixed_folder), "--wait"],
            env=env, capture_output=True, text=True, timeout=600,
        )
        assert result.returncode == 2, result.stdout + result.stderr
        assert "enqueued" in result.stdout
        assert time.monotonic() - started < 600
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
    worker_log = (tmp_path / "worker.log").read_text()
    assert "callqa.transcribe" in worker_log, worker_log[-2000:]
    assert stored_rows(pg_url) == sqlite_baseline[1]
