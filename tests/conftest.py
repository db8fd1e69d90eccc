"""Shared fixtures: settings on a temp data dir, real PostgreSQL / Redis, the shared evaluation data.

Services and ../shared/data are skipped with a reason where absent, except under CI=true, where their
absence is a failure.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from callqa.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CALLQA_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("CALLQA_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CALLQA_TEST_REDIS", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("CALLQA_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672//")


def missing(reason: str) -> None:
    """Skip with the reason, or fail under CI=true where every dependency must be present."""
    if IN_CI:
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "README.md").is_file():
        missing(f"shared evaluation data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    """Embedded defaults (SQLite, no broker) on a fresh data dir; the model cache is shared."""
    return Settings(data_dir=tmp_path / "data", database_url=None, broker_url=None)


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test, dropped afterwards."""
    if not _port_open("127.0.0.1", 5432):
        missing("PostgreSQL is not listening on 127.0.0.1:5432")
    from sqlalchemy import create_engine, text

    name = f"callqa_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        missing(f"cannot create a PostgreSQL test database: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    from callqa.storage.db import upgrade

    upgrade(url)
    yield url
    from callqa.storage.db import get_engine

    get_engine(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not _port_open("127.0.0.1", 6379):
        missing("Redis is not listening on 127.0.0.1:6379")
    return REDIS_URL


@pytest.fixture(scope="session")
def amqp_url() -> str:
    if not _port_open("127.0.0.1", 5672):
        missing("RabbitMQ is not listening on 127.0.0.1:5672")
    return AMQP_URL
