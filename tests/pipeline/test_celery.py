"""Celery on a real broker (Redis, RabbitMQ) with a real worker process: same rows as the in-process run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import stored_rows

from callqa.settings import Settings
from callqa.tasks import QUEUE_ASR, QUEUE_SCORE

pytestmark = [pytest.mark.slow, pytest.mark.services]


def _broker(request: pytest.FixtureRequest, kind: str) -> str:
    """The broker URL, emptied of messages an earlier run may have left."""
    if kind == "redis":
        import redis

        url = request.getfixturevalue("redis_url")
        redis.Redis.from_url(url).flushdb()
        return url
    from kombu import Connection

    url = request.getfixturevalue("amqp_url")
    with Connection(url, connect_timeout=10) as conn:
        channel = conn.default_channel
        for queue in (QUEUE_ASR, QUEUE_SCORE):
            try:
                channel.queue_purge(queue)
            except Exception:  # noqa: BLE001 - a queue that does not exist yet holds nothing
                channel = conn.channel()
    return url


@pytest.mark.parametrize("kind", ["redis", "rabbitmq"])
def test_worker_on_broker_and_postgresql_gives_same_rows(
    request: pytest.FixtureRequest, kind: str, sqlite_baseline: tuple[Settings, list[tuple]], pg_url: str,
    mixed_folder: Path, tmp_path: Path,
) -> None:
    env = dict(os.environ)
    env.update(
        CALLQA_BROKER_URL=_broker(request, kind),
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
    assert f"Connected to {'amqp' if kind == 'rabbitmq' else 'redis'}://" in worker_log, worker_log[-2000:]
    assert stored_rows(pg_url) == sqlite_baseline[1]
