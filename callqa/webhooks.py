"""Webhooks: a signed JSON POST to each registered URL when a call is scored, retried with backoff.

Signature: header ``X-Callqa-Signature: sha256=<hex HMAC-SHA256 of the raw body with the secret>``,
plus ``X-Callqa-Event`` and ``X-Callqa-Delivery`` (the delivery id, for idempotent receivers).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from callqa.settings import Settings
from callqa.storage.db import session_scope
from callqa.storage.models import Call, ScorecardRow, Webhook, WebhookDelivery

logger = logging.getLogger(__name__)

EVENT_SCORED = "call.scored"
BACKOFF_BASE_S = 30.0


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    return "*" * max(len(digits) - 4, 0) + digits[-4:] if len(digits) > 4 else "****"


def call_payload(call: Call, cards: list[ScorecardRow]) -> dict[str, Any]:
    """What a CRM needs about a scored call; personal data masked."""
    return {
        "event": EVENT_SCORED,
        "call": {
            "id": call.id,
            "external_id": call.external_id,
            "crm_deal_id": call.crm_deal_id,
            "client_phone_masked": mask_phone(call.client_phone),
            "manager": call.manager.name if call.manager else None,
            "direction": call.direction,
            "started_at": call.started_at.isoformat() if call.started_at else None,
            "duration_s": call.duration_s,
            "score": call.score,
            "call_class": call.call_class,
            "outcome": call.outcome,
            "callback_due_at": call.callback_due_at.isoformat() if call.callback_due_at else None,
            "scorecards": [
                {
                    "checklist_id": c.checklist_id,
                    "checklist_version": c.checklist_version,
                    "auto_total": c.auto_total,
                    "final_total": c.final_total,
                    "critical_failed": c.critical_failed,
                    "items": {i.item_id: i.final_status for i in c.items},
                }
                for c in cards
                if c.is_current
            ],
        },
    }


def _attempt(settings: Settings, delivery: WebhookDelivery, hook: Webhook) -> bool:
    body = json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Callqa-Event": delivery.event,
        "X-Callqa-Delivery": str(delivery.id),
        "X-Callqa-Signature": sign(hook.secret, body),
    }
    delivery.attempts += 1
    try:
        response = httpx.post(hook.url, content=body, headers=headers, timeout=settings.webhook_timeout_s)
        delivery.last_status = response.status_code
        ok = 200 <= response.status_code < 300
        delivery.last_error = None if ok else f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        ok = False
        delivery.last_status = None
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if ok:
        delivery.state = "delivered"
        delivery.next_attempt_at = None
    elif delivery.attempts >= settings.webhook_max_attempts:
        delivery.state = "failed"
        delivery.next_attempt_at = None
    else:
        delivery.state = "pending"
        delivery.next_attempt_at = datetime.now(UTC) + timedelta(seconds=backoff_s(delivery.attempts))
    return ok


def backoff_s(attempts: int) -> float:
    """Exponential backoff: 30 s, 60 s, 120 s, ..."""
    return BACKOFF_BASE_S * (2 ** max(attempts - 1, 0))


def deliver_for_call(settings: Settings, call_id: int) -> int:
    """Create (once) and attempt one delivery per active webhook for a scored call."""
    delivered = 0
    with session_scope(settings.resolved_database_url) as session:
        call = session.get(Call, call_id)
        if call is None or call.state != "done":
            return 0
        hooks = session.scalars(select(Webhook).where(Webhook.active.is_(True))).all()
        if not hooks:
            return 0
        payload = call_payload(call, list(call.scorecards))
        for hook in hooks:
            if hook.events and EVENT_SCORED not in hook.events:
                continue
            delivery = session.scalar(
                select(WebhookDelivery).where(
                    WebhookDelivery.webhook_id == hook.id,
                    WebhookDelivery.call_id == call_id,
                    WebhookDelivery.event == EVENT_SCORED,
                )
            )
            if delivery is None:
                delivery = WebhookDelivery(webhook_id=hook.id, call_id=call_id, event=EVENT_SCORED, payload=payload)
                session.add(delivery)
                session.flush()
            elif delivery.state == "delivered":
                continue
            else:
                delivery.payload = payload
            delivered += int(_attempt(settings, delivery, hook))
            session.commit()
    return delivered


def retry_due(settings: Settings, *, now: datetime | None = None) -> int:
    """Attempt pending deliveries whose backoff has passed; returns how many were delivered."""
    now = now or datetime.now(UTC)
    delivered = 0
    with session_scope(settings.resolved_database_url) as session:
        due = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.state == "pending")
        ).all()
        for delivery in due:
            nxt = delivery.next_attempt_at
            if nxt is not None and nxt.tzinfo is None:
                nxt = nxt.replace(tzinfo=UTC)
            if nxt is not None and nxt > now:
                continue
            hook = session.get(Webhook, delivery.webhook_id)
            if hook is None or not hook.active:
                continue
            delivered += int(_attempt(settings, delivery, hook))
            session.commit()
    return delivered
