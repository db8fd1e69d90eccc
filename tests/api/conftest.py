"""API fixtures: an app on a temp SQLite data dir (or PostgreSQL), one key per role, a client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from callqa.api.app import create_app
from callqa.api.auth import ROLES, create_api_key
from fastapi.testclient import TestClient

from callqa.settings import Settings
from callqa.storage.db import session_scope


class Api:
    """A test client plus the keys of every role (``api.get(path, role="trainer")``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.client = TestClient(self.app, raise_server_exceptions=True)
        self.keys: dict[str, str] = {}
        self.key_ids: dict[str, int] = {}
        with session_scope(settings.resolved_database_url) as session:
            for role in ROLES:
                key, row = create_api_key(session, name=f"test-{role}", role=role,
                                          manager_name="Иван" if role == "manager" else None)
                self.keys[role] = key
                self.key_ids[role] = row.id
            self.manager_id = session.get(type(row), self.key_ids["manager"]).manager_id

    def flush_audit(self) -> int:
        """Write the read-audit rows this app still buffers (the API flushes every 0.2 s)."""
        return self.app.state.audit_buffer.flush()

    def close(self) -> None:
        self.flush_audit()
        self.client.close()

    def session(self):  # type: ignore[no-untyped-def]
        return session_scope(self.settings.resolved_database_url)

    def request(self, method: str, path: str, *, role: str | None = "admin", **kwargs):  # type: ignore[no-untyped-def]
        headers = dict(kwargs.pop("headers", {}) or {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.keys[role]}"
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.request("DELETE", path, **kwargs)


def make_settings(tmp: Path, database_url: str | None = None, **overrides) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(data_dir=tmp / "data", database_url=database_url, broker_url=None, **overrides)


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[Api]:
    """A fresh app on SQLite for one test."""
    a = Api(make_settings(tmp_path))
    yield a
    a.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """The same app on SQLite and on a fresh PostgreSQL database (skipped where PostgreSQL is absent)."""
    if request.param == "sqlite":
        a = Api(make_settings(tmp_path))
    else:
        pg_url = request.getfixturevalue("pg_url")
        from sqlalchemy import text

        from callqa.storage.db import get_engine

        with get_engine(pg_url).begin() as conn:  # a clean slate per test in the session database
            tables = [r[0] for r in conn.execute(text(
                "select tablename from pg_tables where schemaname='public' and tablename <> 'alembic_version'"))]
            if tables:
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        a = Api(make_settings(tmp_path, pg_url))
    yield a
    a.close()
