"""Gold library: candidates, entries with tags, clips with their transcript, playlists."""

from __future__ import annotations

from .factory import make_call


def test_gold_library_flow(api) -> None:  # type: ignore[no-untyped-def]
    with api.session() as s:
        cand = make_call(s, manager="Мария", gold={"reasons": ["все пункты выполнены"]}).id
        make_call(s, manager="Иван")
    cands = api.get("/api/v1/gold/candidates", role="trainer").json()
    assert [c["call_id"] for c in cands] == [cand] and cands[0]["reasons"]
    r = api.post("/api/v1/gold/entries", role="trainer",
                 json={"call_id": cand, "title": "Выявление потребности", "tags": ["stage:discovery", "item:needs"]})
    assert r.status_code == 201, r.text
    entry = r.json()
    assert api.get("/api/v1/gold/candidates", role="trainer").json() == []  # no longer a candidate
    clip = api.post(f"/api/v1/gold/entries/{entry['id']}/clips", role="trainer",
                    json={"start_s": 9.0, "end_s": 16.0, "title": "вопрос о потребности", "tags": ["topic:tariff"]})
    assert clip.status_code == 201, clip.text
    lines = [t["text"] for t in clip.json()["transcript"]]
    assert lines[0].startswith("Расскажите, для чего") and len(lines) == 2
    assert "345-67-89" not in str(lines)  # trainers get masked text
    full = api.get(f"/api/v1/gold/clips/{clip.json()['id']}", role="head_of_sales").json()
    assert "345-67-89" in str(full["transcript"])
    assert [e["id"] for e in api.get("/api/v1/gold/entries", params={"tag": "item:needs"}, role="manager").json()] == [
        entry["id"]]
    assert [e["id"] for e in api.get("/api/v1/gold/entries", params={"tag": "topic:tariff"}).json()] == [entry["id"]]
    assert api.get("/api/v1/gold/entries", params={"tag": "topic:price"}).json() == []
    patched = api.patch(f"/api/v1/gold/entries/{entry['id']}", role="trainer", json={"tags": ["topic:price"]}).json()
    assert patched["tags"] == ["topic:price"]
    pl = api.post("/api/v1/gold/playlists", role="trainer",
                  json={"name": "Потребности", "clip_ids": [clip.json()["id"]]})
    assert pl.status_code == 201 and pl.json()["clips"][0]["transcript"]
    assert api.post("/api/v1/gold/playlists", role="trainer", json={"name": "Потребности"}).status_code == 409
    assert api.post("/api/v1/gold/playlists", role="trainer", json={"name": "x", "clip_ids": [777]}).status_code == 404
    # removing the entry removes its clips; the playlist drops them and the call stays
    assert api.delete(f"/api/v1/gold/entries/{entry['id']}", role="trainer").status_code == 204
    assert api.get(f"/api/v1/gold/playlists/{pl.json()['id']}").json()["clips"] == []
    assert api.get(f"/api/v1/calls/{cand}").status_code == 200


def test_gold_validation(api) -> None:  # type: ignore[no-untyped-def]
    with api.session() as s:
        cid = make_call(s, duration_s=30.0).id
    assert api.post("/api/v1/gold/entries", json={"call_id": cid, "title": "t", "tags": ["colour:red"]}).status_code == 422
    assert api.post("/api/v1/gold/entries", json={"call_id": 4242, "title": "t"}).status_code == 404
    entry = api.post("/api/v1/gold/entries", json={"call_id": cid, "title": "t"}).json()
    url = f"/api/v1/gold/entries/{entry['id']}/clips"
    assert api.post(url, json={"start_s": 5, "end_s": 4}).status_code == 422
    assert api.post(url, json={"start_s": 40, "end_s": 50}).status_code == 422
    assert api.post(url, json={"start_s": 25, "end_s": 90}).json()["end_s"] == 30.0
