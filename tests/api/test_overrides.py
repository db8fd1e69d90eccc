"""Overrides: verdict and class changes with reason and audit, recomputed scores, trust per item."""

from __future__ import annotations

from callqa.api.routers.overrides import wilson_interval

from .factory import make_call


def test_item_override_recomputes_and_keeps_automatic_values(api) -> None:  # type: ignore[no-untyped-def]
    with api.session() as s:
        cid = make_call(s, statuses={"needs": "failed"}).id
    before = api.get(f"/api/v1/calls/{cid}").json()
    assert before["score"] == 75.0
    r = api.post(f"/api/v1/calls/{cid}/overrides", role="head_of_sales",
                 json={"target": "item", "item_id": "needs", "value": "passed", "reason": "потребность выяснена на 0:12"})
    assert r.status_code == 201, r.text
    assert r.json()["call"]["score"] == 100.0
    after = api.get(f"/api/v1/calls/{cid}").json()
    item = next(i for i in after["scorecards"][0]["items"] if i["item_id"] == "needs")
    assert (item["auto_status"], item["final_status"]) == ("failed", "passed")
    assert after["scorecards"][0]["auto_total"] == 75.0 and after["scorecards"][0]["final_total"] == 100.0
    # a critical item failed by a human caps the score
    api.post(f"/api/v1/calls/{cid}/overrides", role="head_of_sales",
             json={"target": "item", "item_id": "next_step", "value": "failed", "reason": "шаг не назначен"})
    assert api.get(f"/api/v1/calls/{cid}").json()["score"] == 40.0
    log = api.get(f"/api/v1/calls/{cid}/overrides").json()
    assert [(o["before"], o["after"]) for o in log] == [("failed", "passed"), ("passed", "failed")]
    assert all(o["actor"].endswith("test-head_of_sales") for o in log)
    audit = api.get("/api/v1/audit", params={"call_id": cid, "action": "override"}).json()
    assert len(audit) == 2 and audit[0]["details"]["reason"] == "шаг не назначен"


def test_class_and_outcome_overrides(api) -> None:  # type: ignore[no-untyped-def]
    with api.session() as s:
        cid = make_call(s, call_class="lead", outcome="none").id
    for target, value in (("class", "spam"), ("outcome", "callback")):
        r = api.post(f"/api/v1/calls/{cid}/overrides", json={"target": target, "value": value, "reason": "прослушал"})
        assert r.status_code == 201
    call = api.get(f"/api/v1/calls/{cid}").json()
    assert (call["call_class"], call["outcome"]) == ("spam", "callback")
    assert call["classification"]["call_class"] == "lead"  # automatic value kept
    assert [c["id"] for c in api.get("/api/v1/calls", params={"call_class": "spam"}).json()["items"]] == [cid]


def test_override_validation(api) -> None:  # type: ignore[no-untyped-def]
    with api.session() as s:
        cid = make_call(s).id
    url = f"/api/v1/calls/{cid}/overrides"
    assert api.post(url, json={"target": "item", "item_id": "needs", "value": "maybe", "reason": "xyz"}).status_code == 422
    assert api.post(url, json={"target": "item", "value": "passed", "reason": "xyz"}).status_code == 422
    assert api.post(url, json={"target": "item", "item_id": "nope", "value": "passed", "reason": "xyz"}).status_code == 404
    assert api.post(url, json={"target": "class", "value": "vip", "reason": "xyz"}).status_code == 422
    assert api.post(url, json={"target": "item", "item_id": "needs", "value": "passed"}).status_code == 422
    assert api.post(url, role="trainer", json={"target": "class", "value": "spam", "reason": "xyz"}).status_code == 403


def test_agreement_per_item(api) -> None:  # type: ignore[no-untyped-def]
    with api.session() as s:
        ids = [make_call(s, statuses={"needs": "failed"}).id for _ in range(4)]
    # the head of sales confirms "needs" twice and overturns it twice; confirms "greeting" once
    for cid, value in zip(ids, ["failed", "failed", "passed", "passed"], strict=True):
        api.post(f"/api/v1/calls/{cid}/overrides", json={"target": "item", "item_id": "needs", "value": value,
                                                         "reason": "проверено"})
    api.post(f"/api/v1/calls/{ids[0]}/overrides", json={"target": "item", "item_id": "greeting", "value": "passed",
                                                        "reason": "проверено"})
    data = api.get("/api/v1/overrides/agreement").json()
    by_item = {i["item_id"]: i for i in data["items"]}
    assert by_item["needs"]["reviewed"] == 4 and by_item["needs"]["agreed"] == 2
    assert by_item["needs"]["agreement"] == 0.5
    assert (by_item["needs"]["ci_low"], by_item["needs"]["ci_high"]) == wilson_interval(2, 4)
    assert by_item["greeting"]["agreement"] == 1.0
    assert data["overall"] == {"reviewed": 5, "agreed": 3, "agreement": 0.6}


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and abs(high - 0.2775) < 1e-3
    low, high = wilson_interval(5, 10)
    assert abs(low - 0.2366) < 1e-3 and abs(high - 0.7634) < 1e-3
    assert wilson_interval(0, 0) == (0.0, 1.0)
