"""Read-audit records written in batches, off the request path.

Reading a call is the hottest request and each one must leave an audit row; a commit per read would
cost a transaction (and on PostgreSQL a WAL flush) per request. Rows are kept in a per-process buffer
and inserted together by a short-lived timer thread at most ``interval_s`` after the first one, or at
once when ``max_rows`` wait. Durability trade-off: a process killed hard (SIGKILL, power loss) loses
the reads of its last ``interval_s`` (default 0.2 s); a normal shutdown (uvicorn's lifespan, interpreter
exit) flushes them. Data changes (overrides, deletes) are still audited in their own transaction.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text

from callqa.storage.db import get_engine
from callqa.storage.models import AuditLog

logger = logging.getLogger(__name__)

_MAX_PENDING = 100_000  # rows kept for a retry while the database is unreachable
_buffers: weakref.WeakSet[AuditBuffer] = weakref.WeakSet()


class AuditBuffer:
    """Buffered audit rows for one database URL (one per app; thread-safe).

    Args:
        database_url: where the ``audit_log`` table lives.
        interval_s: longest time a row waits before it is written, seconds (> 0).
        max_rows: a buffer this long is written at once (>= 1).
    """

    def __init__(self, database_url: str, *, interval_s: float = 0.2, max_rows: int = 500) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        if max_rows < 1:
            raise ValueError(f"max_rows must be >= 1, got {max_rows}")
        self.database_url = database_url
        self.interval_s = interval_s
        self.max_rows = max_rows
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._timer: threading.Timer | None = None
        _buffers.add(self)

    def add(self, *, actor: str, role: str | None, action: str, call_id: int | None,
            details: dict[str, Any] | None = None) -> None:
        """Queue one audit row, stamped now."""
        row = {"actor": actor, "role": role, "action": action, "call_id": call_id, "details": details,
               "created_at": datetime.now(UTC)}
        with self._lock:
            self._rows.append(row)
            full = len(self._rows) >= self.max_rows
            if self._timer is None and not full:
                self._timer = threading.Timer(self.interval_s, self._on_timer)
                self._timer.daemon = True
                self._timer.start()
        if full:
            threading.Thread(target=self.flush, daemon=True, name="callqa-audit-flush").start()

    def pending(self) -> int:
        with self._lock:
            return len(self._rows)

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - a background thread must not die silently
            logger.exception("audit flush failed; rows kept for the next try")

    def flush(self) -> int:
        """Write every queued row now (in one transaction); returns how many were written.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the insert failed; the rows stay queued.
        """
        with self._flush_lock:
            with self._lock:
                rows, self._rows = self._rows, []
            if not rows:
                return 0
            try:
                engine = get_engine(self.database_url)
                with engine.begin() as conn:
                    if engine.dialect.name == "postgresql":
                        conn.execute(text("SET LOCAL synchronous_commit = off"))
                    conn.execute(insert(AuditLog), rows)
            except Exception:
                with self._lock:
                    self._rows[:0] = rows[-_MAX_PENDING:]
                    if self._timer is None:
                        self._timer = threading.Timer(max(self.interval_s, 1.0), self._on_timer)
                        self._timer.daemon = True
                        self._timer.start()
                raise
            return len(rows)


@atexit.register
def _flush_all() -> None:
    for buffer in list(_buffers):
        try:
            buffer.flush()
        except Exception:  # noqa: BLE001 - exiting: log and go on
            logger.exception("audit rows lost at exit")
