"""Manager feedback: pass rates against the team with Wilson intervals, metrics vs norms, trend, focus clips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from callqa.api.routers.overrides import wilson_interval

from .factory import make_call


def _seed(api) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with api.session() as s:
        for i in range(8):  # Иван rarely finds out needs and talks fast
            ivan = make_call(s, manager="Иван", started_at=now - timedelta(days=2 + 7 * (i % 2)),
                             statuses={"needs": "failed" if i < 7 else "passed", "offer": "failed" if i < 2 else "passed"},
                             metrics={"manager_wpm": 190.0 + i, "manager_talk_share": 0.6})
        for i in range(12):
            make_call(s, manager=f"Коллега {i % 3}", started_at=now - timedelta(days=3),
                      statuses={"offer": "failed" if i < 3 else "passed"},
                      metrics={"manager_wpm": 120.0 + i, "manager_talk_share": 0.5 + i / 100})
        gold = make_call(s, manager="Мария", started_at=now - timedelta(days=5), gold={"reasons": ["образец"]})
        return ivan.manager_id, gold.id


def test_feedback(api) -> None:  # type: ignore[no-untyped-def]
    ivan, gold_call = _seed(api)
    r = api.get(f"/api/v1/managers/{ivan}/feedback", role="head_of_sales")
    assert r.status_code == 200, r.text
    fb = r.json()
    items = {i["item_id"]: i for i in fb["items"]}
    needs = items["needs"]
    assert needs["manager"]["n"] == 8 and needs["manager"]["passed"] == 1
    assert needs["team"]["n"] == 13 and needs["team"]["passed"] == 13
    assert (needs["manager"]["ci_low"], needs["manager"]["ci_high"]) == wilson_interval(1, 8)
    assert needs["verdict"] == "below_team"
    # 2/8 vs 10/13 + 1: overlapping intervals are not sold as a finding
    assert items["offer"]["verdict"] in ("no_clear_difference", "below_team")
    assert items["greeting"]["verdict"] == "no_clear_difference"
    wpm = next(m for m in fb["speech_metrics"] if m["metric"] == "manager_wpm")
    assert wpm["position"] == "above_norm" and wpm["manager_mean"] > wpm["team_p75"]
    assert sum(w["calls"] for w in fb["weekly_trend"]) == 8 and len(fb["weekly_trend"]) == 2
    focus = fb["focus"]
    assert 1 <= len(focus) <= 3 and focus[0]["item_id"] == "needs" and focus[0]["significant"]
    own, gold = focus[0]["own_clip"], focus[0]["gold_clip"]
    assert own["source"] == "own_call" and own["transcript"]
    assert gold is not None and gold["call_id"] == gold_call and gold["source"] == "gold_candidate"
    assert gold["end_s"] > gold["start_s"] and gold["transcript"]
    # once a trainer cuts a clip tagged with the item, that clip is the example
    entry = api.post("/api/v1/gold/entries", role="trainer",
                     json={"call_id": gold_call, "title": "потребность", "tags": ["item:needs"]}).json()
    api.post(f"/api/v1/gold/entries/{entry['id']}/clips", role="trainer", json={"start_s": 9, "end_s": 15})
    again = api.get(f"/api/v1/managers/{ivan}/feedback").json()["focus"][0]["gold_clip"]
    assert again["source"] == "gold_clip" and (again["start_s"], again["end_s"]) == (9.0, 15.0)


def test_manager_sees_only_own_feedback(api) -> None:  # type: ignore[no-untyped-def]
    ivan, _ = _seed(api)
    assert api.get(f"/api/v1/managers/{ivan}/feedback", role="manager").status_code == 200
    others = [m["id"] for m in api.get("/api/v1/managers").json() if m["id"] != ivan]
    assert api.get(f"/api/v1/managers/{others[0]}/feedback", role="manager").status_code == 403
    assert [m["id"] for m in api.get("/api/v1/managers", role="manager").json()] == [ivan]
    assert api.get("/api/v1/managers/4242/feedback").status_code == 404
