"""Webhooks: register a URL and a secret; each scored call is POSTed signed (HMAC-SHA256), with retries
and a delivery log (delivery itself: ``callqa.webhooks``)."""

from __future__ import annotations

from typing import Annotated

from callqa.api.deps import get_session
from callqa.api.errors import not_found
from callqa.api.schemas import DeliveryOut, IdPath, WebhookCreate, WebhookOut
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from callqa.storage.models import Webhook, WebhookDelivery

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _out(hook: Webhook) -> WebhookOut:
    return WebhookOut(id=hook.id, url=hook.url, events=list(hook.events or []), active=hook.active,
                      created_at=hook.created_at)


@router.post("", response_model=WebhookOut, status_code=201)
def register(body: WebhookCreate, session: Session = Depends(get_session)) -> WebhookOut:
    """Register a receiver. Each delivery carries ``X-Callqa-Signature: sha256=<HMAC of the body>``."""
    hook = Webhook(url=body.url, secret=body.secret, events=list(dict.fromkeys(body.events)), active=True)
    session.add(hook)
    session.commit()
    return _out(hook)


@router.get("", response_model=list[WebhookOut])
def list_webhooks(session: Session = Depends(get_session)) -> list[WebhookOut]:
    return [_out(h) for h in session.scalars(select(Webhook).where(Webhook.active.is_(True)).order_by(Webhook.id))]


@router.delete("/{webhook_id}", status_code=204)
def unregister(webhook_id: IdPath, session: Session = Depends(get_session)) -> Response:
    """Stop deliveries to this receiver (its delivery log stays readable)."""
    hook = session.get(Webhook, webhook_id)
    if hook is None or not hook.active:
        raise not_found("webhook", webhook_id)
    hook.active = False
    session.commit()
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryOut])
def deliveries(
    webhook_id: IdPath, session: Session = Depends(get_session),
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    """The delivery log, newest first: state, attempts, last HTTP status or error, next attempt."""
    if session.get(Webhook, webhook_id) is None:
        raise not_found("webhook", webhook_id)
    rows = session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.id.desc()).limit(limit)
    )
    return [DeliveryOut(id=d.id, webhook_id=d.webhook_id, call_id=d.call_id, event=d.event, state=d.state,
                        attempts=d.attempts, last_status=d.last_status, last_error=d.last_error,
                        next_attempt_at=d.next_attempt_at, created_at=d.created_at, updated_at=d.updated_at)
            for d in rows]
