"""The whole role-by-endpoint matrix: 401 without a key, 403 exactly where the table says no."""

from __future__ import annotations

import io
from typing import Any

import pytest
from callqa.api.auth import ROLES
from callqa.api.permissions import PERMISSIONS

from callqa.storage.models import Clip, GoldEntry, Playlist, Webhook

from .factory import make_call

MISSING = 999_999


@pytest.fixture()
def world(api) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with api.session() as s:
        own = make_call(s, api.settings, manager="Иван", with_audio=True, gold={"reasons": ["all passed"]})
        entry = GoldEntry(call_id=own.id, title="Образцовое приветствие", tags=["stage:greeting"], added_by="t")
        s.add(entry)
        s.flush()
        clip = Clip(entry_id=entry.id, call_id=own.id, start_s=0.0, end_s=4.0, tags=[])
        s.add(clip)
        s.flush()
        playlist = Playlist(name="Приветствия", clip_ids=[clip.id], created_by="t")
        hook = Webhook(url="http://127.0.0.1:9/hook", secret="s" * 20, events=["call.scored"])
        s.add_all([playlist, hook])
        s.flush()
        return {"call": own.id, "entry": entry.id, "clip": clip.id, "playlist": playlist.id, "webhook": hook.id,
                "manager": own.manager_id}


def requests_for(w: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """One concrete request per table entry. Deletes aim at missing ids so the world stays intact."""
    c, e, cl, p, h, m = w["call"], w["entry"], w["clip"], w["playlist"], w["webhook"], w["manager"]
    upload = {"files": {"file": ("notes.txt", io.BytesIO(b"not audio"), "text/plain")}}
    return {
        "GET /me": ("GET", "/api/v1/me", {}),
        "POST /calls": ("POST", "/api/v1/calls", upload),
        "GET /calls": ("GET", "/api/v1/calls", {}),
        "GET /calls/{call_id}": ("GET", f"/api/v1/calls/{c}", {}),
        "GET /calls/{call_id}/audio": ("GET", f"/api/v1/calls/{c}/audio", {}),
        "GET /calls/{call_id}/export": ("GET", f"/api/v1/calls/{c}/export?format=json", {}),
        "DELETE /calls/{call_id}": ("DELETE", f"/api/v1/calls/{MISSING}", {}),
        "POST /calls/{call_id}/overrides": ("POST", f"/api/v1/calls/{c}/overrides", {"json": {
            "target": "item", "item_id": "greeting", "value": "passed", "reason": "подтверждаю"}}),
        "GET /calls/{call_id}/overrides": ("GET", f"/api/v1/calls/{c}/overrides", {}),
        "GET /overrides/agreement": ("GET", "/api/v1/overrides/agreement", {}),
        "GET /audit": ("GET", "/api/v1/audit", {}),
        "GET /managers": ("GET", "/api/v1/managers", {}),
        "GET /managers/{manager_id}/feedback": ("GET", f"/api/v1/managers/{m}/feedback", {}),
        "GET /gold/candidates": ("GET", "/api/v1/gold/candidates", {}),
        "GET /gold/entries": ("GET", "/api/v1/gold/entries", {}),
        "POST /gold/entries": ("POST", "/api/v1/gold/entries", {"json": {"call_id": c, "title": "ещё"}}),
        "GET /gold/entries/{entry_id}": ("GET", f"/api/v1/gold/entries/{e}", {}),
        "PATCH /gold/entries/{entry_id}": ("PATCH", f"/api/v1/gold/entries/{e}", {"json": {"notes": "ok"}}),
        "DELETE /gold/entries/{entry_id}": ("DELETE", f"/api/v1/gold/entries/{MISSING}", {}),
        "POST /gold/entries/{entry_id}/clips": ("POST", f"/api/v1/gold/entries/{e}/clips",
                                                {"json": {"start_s": 1, "end_s": 3}}),
        "GET /gold/clips/{clip_id}": ("GET", f"/api/v1/gold/clips/{cl}", {}),
        "DELETE /gold/clips/{clip_id}": ("DELETE", f"/api/v1/gold/clips/{MISSING}", {}),
        "GET /gold/playlists": ("GET", "/api/v1/gold/playlists", {}),
        "POST /gold/playlists": ("POST", "/api/v1/gold/playlists", {"json": {"name": "x", "clip_ids": [cl]}}),
        "GET /gold/playlists/{playlist_id}": ("GET", f"/api/v1/gold/playlists/{p}", {}),
        "PATCH /gold/playlists/{playlist_id}": ("PATCH", f"/api/v1/gold/playlists/{p}", {"json": {"description": "d"}}),
        "DELETE /gold/playlists/{playlist_id}": ("DELETE", f"/api/v1/gold/playlists/{MISSING}", {}),
        "GET /reports/lead-quality": ("GET", "/api/v1/reports/lead-quality", {}),
        "GET /reports/managers": ("GET", "/api/v1/reports/managers", {}),
        "GET /reports/zombies": ("GET", "/api/v1/reports/zombies", {}),
        "GET /reports/broken-promises": ("GET", "/api/v1/reports/broken-promises", {}),
        "GET /crm/calls": ("GET", "/api/v1/crm/calls", {}),
        "GET /crm/calls/lookup": ("GET", "/api/v1/crm/calls/lookup?crm_deal_id=D-1", {}),
        "POST /webhooks": ("POST", "/api/v1/webhooks", {"json": {"url": "http://127.0.0.1:9/x", "secret": "k" * 16}}),
        "GET /webhooks": ("GET", "/api/v1/webhooks", {}),
        "DELETE /webhooks/{webhook_id}": ("DELETE", f"/api/v1/webhooks/{MISSING}", {}),
        "GET /webhooks/{webhook_id}/deliveries": ("GET", f"/api/v1/webhooks/{h}/deliveries", {}),
        "POST /keys": ("POST", "/api/v1/keys", {"json": {"name": "n", "role": "marketer"}}),
        "GET /keys": ("GET", "/api/v1/keys", {}),
        "DELETE /keys/{key_id}": ("DELETE", f"/api/v1/keys/{MISSING}", {}),
    }


def test_every_route_is_in_the_table(api) -> None:  # type: ignore[no-untyped-def]
    paths = api.app.openapi()["paths"]
    declared = {f"{m.upper()} {p.removeprefix('/api/v1')}" for p, ops in paths.items() for m in ops
                if p.startswith("/api/v1")}
    assert declared == set(PERMISSIONS)


def test_role_matrix(api, world) -> None:  # type: ignore[no-untyped-def]
    reqs = requests_for(world)
    assert set(reqs) == set(PERMISSIONS), "every endpoint needs a request in the matrix"
    problems = []
    for op, (method, path, kwargs) in reqs.items():
        r = api.request(method, path, role=None, **kwargs)
        if r.status_code != 401 or "error" not in r.json():
            problems.append(f"{op} without key: {r.status_code}")
        r = api.request(method, path, role=None, headers={"X-API-Key": "cqa_000000000000_wrong"}, **kwargs)
        if r.status_code != 401:
            problems.append(f"{op} with a wrong key: {r.status_code}")
        for role in ROLES:
            r = api.request(method, path, role=role, **kwargs)
            allowed = role in PERMISSIONS[op]
            if allowed and r.status_code in (401, 403):
                problems.append(f"{op} as {role}: {r.status_code} but the table allows it ({r.text[:200]})")
            if not allowed and r.status_code != 403:
                problems.append(f"{op} as {role}: {r.status_code}, expected 403")
            if r.status_code >= 500:
                problems.append(f"{op} as {role}: server error {r.status_code}")
    assert not problems, "\n".join(problems)


def test_revoked_key_stops_working(api) -> None:  # type: ignore[no-untyped-def]
    created = api.post("/api/v1/keys", json={"name": "temp", "role": "marketer"})
    assert created.status_code == 201
    key = created.json()["key"]
    headers = {"X-API-Key": key}
    assert api.get("/api/v1/me", role=None, headers=headers).json()["role"] == "marketer"
    assert api.delete(f"/api/v1/keys/{created.json()['id']}").status_code == 204
    assert api.get("/api/v1/me", role=None, headers=headers).status_code == 401
    listed = api.get("/api/v1/keys").json()
    assert all("key" not in k and "key_hash" not in k for k in listed)
