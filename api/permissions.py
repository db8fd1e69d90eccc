"""Who may do what: one table, ``"METHOD /path"`` (under /api/v1) -> roles allowed.

Every /api/v1 route must be listed here; a route missing from the table is refused to everyone
(fail closed). The role-by-endpoint matrix test reads this table. Row-level rules come on top:
a manager sees only their own calls and feedback.
"""

from __future__ import annotations

ALL = ("admin", "head_of_sales", "manager", "marketer", "trainer", "crm")
_STAFF_READ = ("admin", "head_of_sales", "manager", "trainer")
_GOLD_EDIT = ("admin", "trainer")
_SALES_LEAD = ("admin", "head_of_sales")

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "GET /me": ALL,
    # calls
    "POST /calls": ("admin", "head_of_sales", "crm"),
    "GET /calls": _STAFF_READ,
    "GET /calls/{call_id}": _STAFF_READ,
    "GET /calls/{call_id}/audio": _STAFF_READ,
    "GET /calls/{call_id}/export": _STAFF_READ,
    "DELETE /calls/{call_id}": ("admin",),
    # overrides and trust
    "POST /calls/{call_id}/overrides": _SALES_LEAD,
    "GET /calls/{call_id}/overrides": _STAFF_READ,
    "GET /overrides/agreement": ("admin", "head_of_sales", "trainer"),
    "GET /audit": _SALES_LEAD,
    # managers
    "GET /managers": ("admin", "head_of_sales", "trainer", "manager"),
    "GET /managers/{manager_id}/feedback": ("admin", "head_of_sales", "trainer", "manager"),
    # gold library
    "GET /gold/candidates": ("admin", "head_of_sales", "trainer"),
    "GET /gold/entries": _STAFF_READ,
    "POST /gold/entries": _GOLD_EDIT,
    "GET /gold/entries/{entry_id}": _STAFF_READ,
    "PATCH /gold/entries/{entry_id}": _GOLD_EDIT,
    "DELETE /gold/entries/{entry_id}": _GOLD_EDIT,
    "POST /gold/entries/{entry_id}/clips": _GOLD_EDIT,
    "GET /gold/clips/{clip_id}": _STAFF_READ,
    "DELETE /gold/clips/{clip_id}": _GOLD_EDIT,
    "GET /gold/playlists": _STAFF_READ,
    "POST /gold/playlists": _GOLD_EDIT,
    "GET /gold/playlists/{playlist_id}": _STAFF_READ,
    "PATCH /gold/playlists/{playlist_id}": _GOLD_EDIT,
    "DELETE /gold/playlists/{playlist_id}": _GOLD_EDIT,
    # reports
    "GET /reports/lead-quality": ("admin", "head_of_sales", "marketer"),
    "GET /reports/managers": _SALES_LEAD,
    "GET /reports/zombies": ("admin", "head_of_sales", "marketer"),
    "GET /reports/broken-promises": _SALES_LEAD,
    # CRM integration
    "GET /crm/calls": ("admin", "crm"),
    "GET /crm/calls/lookup": ("admin", "crm"),
    "POST /webhooks": ("admin", "crm"),
    "GET /webhooks": ("admin", "crm"),
    "DELETE /webhooks/{webhook_id}": ("admin", "crm"),
    "GET /webhooks/{webhook_id}/deliveries": ("admin", "crm"),
    # API keys
    "POST /keys": ("admin",),
    "GET /keys": ("admin",),
    "DELETE /keys/{key_id}": ("admin",),
}


def allowed(method: str, path: str) -> tuple[str, ...]:
    """Roles allowed for a route (path as declared, relative to /api/v1); empty when undeclared."""
    return PERMISSIONS.get(f"{method.upper()} {path}", ())
