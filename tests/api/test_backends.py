"""The main flows on SQLite and PostgreSQL: list filters and search, one call, override, reports, CRM, gold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .factory import make_call


def test_flows_on_both_backends(any_api) -> None:  # type: ignore[no-untyped-def]
    api = any_api
    now = datetime.now(UTC)
    with api.session() as s:
        a = make_call(s, manager="Иван", statuses={"needs": "failed"}, started_at=now - timedelta(days=3),
                      crm_deal_id="D-1", callback_due_days=1, outcome="callback").id
        b = make_call(s, manager="Пётр", call_class="spam", started_at=now - timedelta(days=1),
                      gold={"reasons": ["x"]}, client_phone="+7 (999) 000-11-22").id
    ids = lambda r: [c["id"] for c in r.json()["items"]]  # noqa: E731
    assert ids(api.get("/api/v1/calls", params={"failed_item": "needs"})) == [a]
    assert ids(api.get("/api/v1/calls", params={"q": "ТАРИФ бизнес"})) == [b, a]
    assert ids(api.get("/api/v1/calls", params={"q": "пётр"})) == [b]
    assert ids(api.get("/api/v1/calls", params={"date_from": (now - timedelta(days=2)).isoformat()})) == [b]
    page = api.get("/api/v1/calls", params={"limit": 1}).json()
    assert ids(api.get("/api/v1/calls", params={"limit": 1, "cursor": page["next_cursor"]})) == [a]
    assert api.get(f"/api/v1/calls/{a}", role="trainer").json()["transcript"]["segments"][3]["text"].count("[") >= 2
    r = api.post(f"/api/v1/calls/{a}/overrides", role="head_of_sales",
                 json={"target": "item", "item_id": "needs", "value": "passed", "reason": "выяснил"})
    assert r.json()["call"]["score"] == 100.0
    assert api.get("/api/v1/overrides/agreement").json()["overall"]["reviewed"] == 1
    lq = api.get("/api/v1/reports/lead-quality").json()
    assert {c["key"]: c["spam"] for c in lq["channels"]} == {"site": 1}
    assert api.get("/api/v1/reports/managers").json()[0]["calls"] == 1
    assert api.get("/api/v1/reports/zombies").json() == []
    assert [p["call_id"] for p in api.get("/api/v1/reports/broken-promises").json()] == [a]
    crm = api.get("/api/v1/crm/calls", role="crm", params={"updated_since": (now - timedelta(hours=1)).isoformat()})
    assert sorted(c["id"] for c in crm.json()["items"]) == [a, b]
    assert ids(api.get("/api/v1/crm/calls/lookup", role="crm", params={"client_phone": "89990001122"})) == [b]
    assert api.get("/api/v1/gold/candidates").json()[0]["call_id"] == b
    entry = api.post("/api/v1/gold/entries", role="trainer", json={"call_id": b, "title": "t", "tags": ["item:needs"]})
    clip = api.post(f"/api/v1/gold/entries/{entry.json()['id']}/clips", role="trainer", json={"start_s": 0, "end_s": 5})
    assert clip.json()["transcript"][0]["text"].startswith("Здравствуйте")
    ivan = api.get(f"/api/v1/calls/{a}").json()["manager_id"]
    assert api.get(f"/api/v1/managers/{ivan}/feedback").status_code == 200
    assert api.delete(f"/api/v1/calls/{b}").status_code == 204
    assert api.get("/api/v1/gold/entries").json() == []
