"""Stored call documents stay in step with the call; buffered read audit rows reach the log."""

from __future__ import annotations

import json

from callqa.api.audit import AuditBuffer
from sqlalchemy import delete, select

from callqa.report import call_dict, refresh_call_documents
from callqa.storage.models import AuditLog, Call, CallDocument, Manager

from .factory import make_call


def _stored(api, cid: int) -> CallDocument | None:  # type: ignore[no-untyped-def]
    with api.session() as s:
        return s.get(CallDocument, cid)


def test_document_matches_call_dict_and_follows_changes(api) -> None:  # type: ignore[no-untyped-def]
    with api.session() as s:
        cid = make_call(s, manager="Иван").id
    doc = _stored(api, cid)
    assert doc is not None, "a committed call gets its document in the same transaction"
    with api.session() as s:
        expected = call_dict(s, s.get(Call, cid)) | {"manager_id": s.get(Call, cid).manager_id, "campaign": "spring"}
    assert json.loads(doc.body) == json.loads(json.dumps(expected, default=str))
    assert api.get(f"/api/v1/calls/{cid}").json() == json.loads(doc.body)

    # a change through the ORM re-renders the document before the commit
    with api.session() as s:
        s.get(Call, cid).outcome = "sale"
    assert api.get(f"/api/v1/calls/{cid}").json()["outcome"] == "sale"

    # an override (API) shows at once, masked renderings included
    assert api.get(f"/api/v1/calls/{cid}", role="trainer").json()["outcome"] == "sale"
    r = api.post(f"/api/v1/calls/{cid}/overrides", json={"target": "outcome", "value": "refusal", "reason": "нет"})
    assert r.status_code in (200, 201), r.text
    for role in ("admin", "trainer"):
        assert api.get(f"/api/v1/calls/{cid}", role=role).json()["outcome"] == "refusal", role

    # a renamed manager: documents dropped, rendered again on the next read
    with api.session() as s:
        s.get(Manager, s.get(Call, cid).manager_id).name = "Иван Петров"
    assert _stored(api, cid) is None
    assert api.get(f"/api/v1/calls/{cid}").json()["metadata"]["manager"] == "Иван Петров"
    assert _stored(api, cid) is not None


def test_missing_document_is_rendered_on_read_and_by_refresh(api) -> None:  # type: ignore[no-untyped-def]
    with api.session() as s:
        cids = [make_call(s).id for _ in range(3)]
    with api.session() as s:
        s.execute(delete(CallDocument))
    body = api.get(f"/api/v1/calls/{cids[0]}", role="trainer").json()  # rendered, masked, both kept
    assert "+79123456789" not in json.dumps(body, ensure_ascii=False)
    stored = _stored(api, cids[0])
    assert stored is not None and stored.body_masked is not None
    with api.session() as s:
        assert refresh_call_documents(s, [*cids, 999_999]) == 3
    assert _stored(api, cids[1]) is not None
    assert api.get("/api/v1/calls/999999").status_code == 404


def test_deleted_call_loses_its_document(api) -> None:  # type: ignore[no-untyped-def]
    with api.session() as s:
        cid = make_call(s).id
    assert api.delete(f"/api/v1/calls/{cid}").status_code == 204
    assert _stored(api, cid) is None
    assert api.get(f"/api/v1/calls/{cid}").status_code == 404


def test_audit_buffer_writes_in_batches(api) -> None:  # type: ignore[no-untyped-def]
    buffer = AuditBuffer(api.settings.resolved_database_url, interval_s=60, max_rows=1000)
    for i in range(5):
        buffer.add(actor="key:1:t", role="admin", action="read_call", call_id=100 + i)
    assert buffer.pending() == 5
    assert buffer.flush() == 5 and buffer.pending() == 0
    with api.session() as s:
        rows = s.scalars(select(AuditLog.call_id).where(AuditLog.actor == "key:1:t")).all()
    assert sorted(rows) == [100, 101, 102, 103, 104]


def test_read_audit_reaches_the_log(api) -> None:  # type: ignore[no-untyped-def]
    with api.session() as s:
        cid = make_call(s).id
    for _ in range(3):
        assert api.get(f"/api/v1/calls/{cid}", role="trainer").status_code == 200
    log = api.get("/api/v1/audit", params={"call_id": cid, "action": "read_call"}).json()
    assert len(log) == 3 and {e["role"] for e in log} == {"trainer"}


def test_audit_buffer_rejects_bad_options() -> None:
    import pytest

    with pytest.raises(ValueError, match="interval_s"):
        AuditBuffer("sqlite://", interval_s=0)
    with pytest.raises(ValueError, match="max_rows"):
        AuditBuffer("sqlite://", max_rows=0)
