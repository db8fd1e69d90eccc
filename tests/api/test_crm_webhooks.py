"""CRM pull by cursor and ids; webhooks signed with HMAC-SHA256, retried with backoff, logged."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from callqa import webhooks
from callqa.storage.models import Call

from .factory import make_call


def test_pull_by_cursor_and_lookup(api) -> None:  # type: ignore[no-untyped-def]
    with api.session() as s:
        ids = [make_call(s, crm_deal_id=f"D-{i}", client_phone="8 (912) 345-67-89" if i == 1 else None).id
               for i in range(5)]
    seen, cursor = [], None
    for _ in range(5):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.get("/api/v1/crm/calls", role="crm", params=params).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert sorted(seen) == ids and len(seen) == 5
    # nothing new since the cursor; a change shows up on the next pull
    assert api.get("/api/v1/crm/calls", role="crm", params={"cursor": cursor}).json()["items"] == []
    api.post(f"/api/v1/calls/{ids[2]}/overrides", json={"target": "class", "value": "spam", "reason": "робот"})
    changed = api.get("/api/v1/crm/calls", role="crm", params={"cursor": cursor}).json()["items"]
    assert [c["id"] for c in changed] == [ids[2]] and changed[0]["call_class"] == "spam"
    everything = api.get("/api/v1/crm/calls", role="crm", params={"updated_since": "2000-01-01T00:00:00Z"}).json()
    assert len(everything["items"]) == 5
    found = api.get("/api/v1/crm/calls/lookup", role="crm", params={"crm_deal_id": "D-3"}).json()["items"]
    assert [c["id"] for c in found] == [ids[3]] and found[0]["scorecards"][0]["items"]["greeting"] == "passed"
    by_phone = api.get("/api/v1/crm/calls/lookup", role="crm", params={"client_phone": "+79123456789"}).json()
    assert [c["id"] for c in by_phone["items"]] == [ids[1]]
    assert "345-67" not in json.dumps(by_phone)  # masked for the CRM role
    assert api.get("/api/v1/crm/calls/lookup", role="crm").status_code == 422


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass


def test_webhook_delivery_signed_and_logged(api) -> None:  # type: ignore[no-untyped-def]
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        secret = "a-very-secret-value"
        ok = api.post("/api/v1/webhooks", role="crm",
                      json={"url": f"http://127.0.0.1:{server.server_port}/hook", "secret": secret})
        assert ok.status_code == 201 and "secret" not in ok.json()
        dead = api.post("/api/v1/webhooks", role="crm", json={"url": "http://127.0.0.1:9/closed", "secret": secret})
        assert api.post("/api/v1/webhooks", json={"url": "ftp://x", "secret": secret}).status_code == 422
        assert api.post("/api/v1/webhooks", json={"url": "http://x.y/", "secret": "short"}).status_code == 422
        with api.session() as s:
            cid = make_call(s).id
        assert webhooks.deliver_for_call(api.settings, cid) == 1
        headers, body = _Receiver.received[-1]
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Callqa-Signature"] == expected
        payload = json.loads(body)
        assert payload["event"] == "call.scored" and payload["call"]["id"] == cid
        assert "345" not in payload["call"]["client_phone_masked"]
        log = api.get(f"/api/v1/webhooks/{ok.json()['id']}/deliveries", role="crm").json()
        assert [(d["state"], d["attempts"], d["last_status"]) for d in log] == [("delivered", 1, 204)]
        failed = api.get(f"/api/v1/webhooks/{dead.json()['id']}/deliveries", role="crm").json()
        assert failed[0]["state"] == "pending" and failed[0]["attempts"] == 1 and failed[0]["next_attempt_at"]
        assert failed[0]["last_error"]
        assert api.delete(f"/api/v1/webhooks/{dead.json()['id']}", role="crm").status_code == 204
        assert [h["id"] for h in api.get("/api/v1/webhooks", role="crm").json()] == [ok.json()["id"]]
        with api.session() as s:
            assert s.get(Call, cid) is not None
    finally:
        server.shutdown()
