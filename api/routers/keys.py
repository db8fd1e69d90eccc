"""API keys (admin) and who-am-I (everyone)."""

from __future__ import annotations

from callqa.api.auth import Principal, create_api_key
from callqa.api.deps import authorize, get_session
from callqa.api.errors import ApiError, not_found
from callqa.api.schemas import KeyCreate, KeyCreated, KeyOut, MeOut
from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from callqa.storage.models import ApiKey

router = APIRouter(tags=["keys"])


@router.get("/me", response_model=MeOut)
def me(principal: Principal = Depends(authorize)) -> MeOut:
    """The calling key's name, role and (for managers) manager id."""
    return MeOut(key_id=principal.key_id, name=principal.name, role=principal.role,
                 manager_id=principal.manager_id, sees_personal_data=principal.sees_pii)


def _key_out(row: ApiKey) -> KeyOut:
    return KeyOut(id=row.id, name=row.name, prefix=row.prefix, role=row.role, manager_id=row.manager_id,
                  active=row.active, created_at=row.created_at, last_used_at=row.last_used_at)


@router.post("/keys", response_model=KeyCreated, status_code=201)
def create_key(body: KeyCreate, session: Session = Depends(get_session)) -> KeyCreated:
    """Create a key; the plaintext ``key`` is in this response only."""
    try:
        key, row = create_api_key(session, name=body.name, role=body.role, manager_name=body.manager_name,
                                  manager_id=body.manager_id)
    except ValueError as exc:
        raise ApiError(422, str(exc), code="validation_error") from exc
    session.commit()
    return KeyCreated(key=key, **_key_out(row).model_dump())


@router.get("/keys", response_model=list[KeyOut])
def list_keys(session: Session = Depends(get_session)) -> list[KeyOut]:
    return [_key_out(r) for r in session.scalars(select(ApiKey).order_by(ApiKey.id))]


@router.delete("/keys/{key_id}", status_code=204)
def revoke_key(key_id: int, request: Request, session: Session = Depends(get_session)) -> None:
    """Revoke a key (kept for the audit trail, never usable again)."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise not_found("key", key_id)
    row.active = False
    session.commit()
    request.app.state.key_cache.clear()
