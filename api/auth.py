"""API keys: shown once, stored as a SHA-256 hash with a short public prefix for lookup; roles."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from callqa.storage import repo
from callqa.storage.models import ApiKey, Manager

ROLES: tuple[str, ...] = ("admin", "head_of_sales", "manager", "marketer", "trainer", "crm")
# Roles that see personal data (phone, card, passport numbers) unmasked.
UNMASKED_ROLES: frozenset[str] = frozenset({"admin", "head_of_sales"})
KEY_PREFIX = "cqa"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, name and role; ``manager_id`` for the manager role."""

    key_id: int
    name: str
    role: str
    manager_id: int | None = None

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}:{self.name}"

    @property
    def sees_pii(self) -> bool:
        return self.role in UNMASKED_ROLES


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def split_key(key: str) -> str | None:
    """The lookup prefix of a well-formed key (``cqa_<prefix>_<secret>``), else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1]


def create_api_key(
    session: Session, *, name: str, role: str, manager_name: str | None = None, manager_id: int | None = None
) -> tuple[str, ApiKey]:
    """Create a key; returns the plaintext (shown once) and the stored row (hash only).

    Raises:
        ValueError: unknown role, empty name, or a manager key without its manager.
    """
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of: {', '.join(ROLES)}")
    name = (name or "").strip()
    if not name:
        raise ValueError("a key needs a name (who or what uses it)")
    manager: Manager | None = None
    if manager_id is not None:
        manager = session.get(Manager, manager_id)
        if manager is None:
            raise ValueError(f"manager {manager_id} does not exist")
    elif manager_name:
        manager = repo.get_or_create_manager(session, name=manager_name)
    if role == "manager" and manager is None:
        raise ValueError("a manager key needs the manager it belongs to (manager name or id)")
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name[:200], prefix=prefix, key_hash=hash_key(key), role=role,
        manager_id=manager.id if manager is not None else None, active=True,
    )
    session.add(row)
    session.flush()
    return key, row


def lookup_key(session: Session, key: str) -> ApiKey | None:
    """The active key row matching ``key``, compared in constant time, or None."""
    prefix = split_key(key)
    if prefix is None:
        return None
    digest = hash_key(key)
    for row in session.scalars(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.active.is_(True))):
        if hmac.compare_digest(row.key_hash, digest):
            return row
    return None
