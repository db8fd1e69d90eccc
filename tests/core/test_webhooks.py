"""Webhooks: signed POSTs to a real local HTTP server, retries with backoff, a delivery log."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from callqa import webhooks
from callqa.settings import Settings
from callqa.storage import repo
from callqa.storage.db import session_scope
from callqa.storage.models import Call, Webhook, WebhookDelivery


class Receiver:
    """A loopback HTTP server that records requests and answers with queued status codes."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.close()


def _scored_call(settings: Settings, tmp_path: Path) -> int:
    with session_scope(settings.resolved_database_url) as session:
        call = Call(sha256="a" * 64, original_name="c.wav", state="done", client_phone="+7 916 123-45-67",
                    crm_deal_id="D-9", external_id="pbx-1")
        session.add(call)
        session.flush()
        repo.store_analysis(
            session, call,
            {
                "scorecards": [{
                    "checklist_id": "inbound_lead", "checklist_version": "1", "total_score": 100.0,
                    "critical_failures": [], "critical_cap": 40.0,
                    "stages": [{"stage_id": "contact", "weight": 1.0}],
                    "items": [{"item_id": "greeting", "stage_id": "contact", "status": "passed", "weight": 1.0,
                               "critical": False, "evidence": []}],
                }],
                "metrics": {}, "classification": {"call_class": "lead", "outcome": "next_step"},
            },
        )
        return call.id


def test_delivery_is_signed_and_logged(settings: Settings, tmp_path: Path, receiver: Receiver) -> None:
    call_id = _scored_call(settings, tmp_path)
    with session_scope(settings.resolved_database_url) as session:
        session.add(Webhook(url=receiver.url, secret="s3cret", events=["call.scored"]))
    assert webhooks.deliver_for_call(settings, call_id) == 1
    headers, body = receiver.requests[0]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Callqa-Signature"] == expected
    payload = json.loads(body)
    assert payload["call"]["crm_deal_id"] == "D-9"
    assert payload["call"]["call_class"] == "lead"
    assert "123-45-67" not in body.decode() and payload["call"]["client_phone_masked"].endswith("4567")
    # delivered once: running the step again sends nothing more
    assert webhooks.deliver_for_call(settings, call_id) == 0
    assert len(receiver.requests) == 1
    with session_scope(settings.resolved_database_url) as session:
        d = session.scalars(select(WebhookDelivery)).one()
        assert (d.state, d.attempts, d.last_status) == ("delivered", 1, 200)


def test_failures_back_off_then_give_up(settings: Settings, tmp_path: Path, receiver: Receiver) -> None:
    settings = settings.model_copy(update={"webhook_max_attempts": 3})
    call_id = _scored_call(settings, tmp_path)
    with session_scope(settings.resolved_database_url) as session:
        session.add(Webhook(url=receiver.url, secret="k", events=[]))
    receiver.statuses = [500, 503, 502]
    assert webhooks.deliver_for_call(settings, call_id) == 0
    with session_scope(settings.resolved_database_url) as session:
        d = session.scalars(select(WebhookDelivery)).one()
        assert d.state == "pending" and d.last_status == 500
        first_due = d.next_attempt_at
    # not yet due: nothing is sent
    assert webhooks.retry_due(settings) == 0
    assert len(receiver.requests) == 1
    later = datetime.now(UTC) + timedelta(hours=1)
    assert webhooks.retry_due(settings, now=later) == 0
    with session_scope(settings.resolved_database_url) as session:
        d = session.scalars(select(WebhookDelivery)).one()
        second_due = d.next_attempt_at
    gap1 = webhooks.backoff_s(1)
    gap2 = webhooks.backoff_s(2)
    assert gap2 == 2 * gap1 and first_due is not None and second_due is not None
    assert webhooks.retry_due(settings, now=later + timedelta(hours=1)) == 0
    with session_scope(settings.resolved_database_url) as session:
        d = session.scalars(select(WebhookDelivery)).one()
        assert (d.state, d.attempts, d.last_status) == ("failed", 3, 502)
    assert len(receiver.requests) == 3


def test_unreachable_url_is_recorded(settings: Settings, tmp_path: Path) -> None:
    call_id = _scored_call(settings, tmp_path)
    with session_scope(settings.resolved_database_url) as session:
        session.add(Webhook(url="http://127.0.0.1:9/nothing", secret="k", events=[]))
    assert webhooks.deliver_for_call(settings, call_id) == 0
    with session_scope(settings.resolved_database_url) as session:
        d = session.scalars(select(WebhookDelivery)).one()
        assert d.state == "pending" and "ConnectError" in (d.last_error or "")
