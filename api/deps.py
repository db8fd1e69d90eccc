"""FastAPI dependencies: settings, database session, the calling key and the role check."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeVar

from callqa.api.auth import Principal, hash_key, lookup_key
from callqa.api.errors import ApiError
from callqa.api.permissions import allowed
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine, create_engine, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from callqa.settings import Settings
from callqa.storage.db import get_engine, session_factory
from callqa.storage.models import ApiKey, Call, GoldEntry

T = TypeVar("T")
API_PREFIX = "/api/v1"
_CACHE_TTL_S = 10.0  # a revoked key stops working within this time in every worker
_LAST_USED_EVERY_S = 60.0

_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


@lru_cache(maxsize=8)
def read_engine(url: str) -> Engine:
    """The engine of the hot read paths (get a call, list calls) on PostgreSQL: autocommit, so a read is
    one round trip with no BEGIN/ROLLBACK, and no pre-ping (``run_read`` retries a dropped connection
    once instead). SQLite uses the shared engine."""
    if url.startswith("sqlite"):
        return get_engine(url)
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_size=10, max_overflow=20, pool_recycle=1800)


def run_read(url: str, read: Callable[[Connection], T]) -> T:
    """``read(connection)`` on the read engine; retried once on a connection the server dropped."""
    for attempt in (1, 2):
        try:
            with read_engine(url).connect() as conn:
                return read(conn)
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def get_session(request: Request) -> Iterator[Session]:
    """A session per request; endpoints commit what they change."""
    session = session_factory(request.app.state.settings.resolved_database_url)()
    try:
        yield session
    finally:
        session.close()


class KeyCache:
    """Short-lived in-process cache of key hash -> principal, so reads need no key query."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._touched: dict[int, float] = {}

    def get(self, digest: str) -> Principal | None:
        with self._lock:
            hit = self._entries.get(digest)
            if hit is None or hit[0] < time.monotonic():
                return None
            return hit[1]

    def put(self, digest: str, principal: Principal) -> None:
        with self._lock:
            self._entries[digest] = (time.monotonic() + _CACHE_TTL_S, principal)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def should_touch(self, key_id: int) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._touched.get(key_id, -1e9) < _LAST_USED_EVERY_S:
                return False
            self._touched[key_id] = now
            return True


async def current_principal(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
    header_key: str | None = Depends(_header),
) -> Principal:
    """The principal behind ``Authorization: Bearer <key>`` or ``X-API-Key``; 401 without a valid key.

    Async on purpose: a cached key costs no thread hand-off; the database (a key not cached, or its
    ``last_used_at`` due) is reached from the thread pool.
    """
    key = header_key or (bearer.credentials if bearer is not None else None)
    if not key:
        raise ApiError(401, "an API key is required (Authorization: Bearer <key> or X-API-Key)",
                       headers={"WWW-Authenticate": "Bearer"})
    cache: KeyCache = request.app.state.key_cache
    digest = hash_key(key)
    principal = cache.get(digest)
    touch = principal is not None and cache.should_touch(principal.key_id)
    if principal is None or touch:
        principal = await run_in_threadpool(_load_principal, request, key, digest, principal)
    return principal


def _load_principal(request: Request, key: str, digest: str, principal: Principal | None) -> Principal:
    cache: KeyCache = request.app.state.key_cache
    with session_factory(request.app.state.settings.resolved_database_url)() as session:
        if principal is None:
            row = lookup_key(session, key)
            if row is None:
                raise ApiError(401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
            principal = Principal(key_id=row.id, name=row.name, role=row.role, manager_id=row.manager_id)
            cache.put(digest, principal)
            if not cache.should_touch(principal.key_id):
                return principal
        session.execute(update(ApiKey).where(ApiKey.id == principal.key_id).values(last_used_at=datetime.now(UTC)))
        session.commit()
    return principal


async def authorize(request: Request, principal: Principal = Depends(current_principal)) -> Principal:
    """Check the caller's role against the permission table for the matched route (403 otherwise)."""
    route = request.scope.get("route")
    path = getattr(route, "path", "")
    if path.startswith(API_PREFIX):
        path = path[len(API_PREFIX):]
    roles = allowed(request.method, path)
    if principal.role not in roles:
        raise ApiError(
            403, f"role {principal.role!r} may not {request.method} {path}",
            details={"allowed_roles": list(roles)},
        )
    return principal


def may_see_call(session: Session | Connection, principal: Principal, call_id: int, manager_id: int | None) -> bool:
    """Row-level rule: a manager sees own calls and calls in the gold library (training material)."""
    if principal.role != "manager" or manager_id == principal.manager_id:
        return True
    return session.scalar(select(GoldEntry.id).where(GoldEntry.call_id == call_id).limit(1)) is not None


def call_not_found(call_id: int) -> ApiError:
    return ApiError(404, f"call {call_id} does not exist", code="not_found")


def visible_call(session: Session, principal: Principal, call_id: int) -> Call:
    """The call if it exists and the caller may see it; another manager's call is a 404 (no leak)."""
    call = session.get(Call, call_id)
    if call is None or not may_see_call(session, principal, call.id, call.manager_id):
        raise call_not_found(call_id)
    return call
