"""Upload runs the real pipeline (no broker: a background thread) - loads Whisper, hence slow."""

from __future__ import annotations

import time

import pytest

from .factory import write_wav


@pytest.mark.slow
def test_upload_is_processed_in_the_background(api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    wav = write_wav(tmp_path / "rec.wav", duration_s=3.0, seed=3)
    with wav.open("rb") as fh:
        r = api.post("/api/v1/calls", role="crm",
                     files={"file": ("../../..\\C:\\evil\x01name<script>.wav", fh, "audio/wav")},
                     data={"manager": "Иван", "direction": "inbound", "source_channel": "site",
                           "client_phone": "+79120000000", "started_at": "2026-11-20T10:00:00+03:00",
                           "crm_deal_id": "D-77"})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["created"] is True
    call_id = body["call_id"]
    deadline = time.monotonic() + 300
    state = body["state"]
    while time.monotonic() < deadline:
        state = api.get(f"/api/v1/calls/{call_id}").json()["state"]
        if state in ("done", "failed"):
            break
        time.sleep(0.5)
    call = api.get(f"/api/v1/calls/{call_id}").json()
    assert state == "done", call.get("error")
    assert call["file"].startswith("evil") and call["file"].endswith("name<script>.wav")
    assert "/" not in call["file"] and "\\" not in call["file"] and "\x01" not in call["file"]
    assert call["metadata"]["manager"] == "Иван" and call["metadata"]["crm_deal_id"] == "D-77"
    assert call["duration_s"] == pytest.approx(3.0, abs=0.05)
    # the same recording again: no second call
    with wav.open("rb") as fh:
        again = api.post("/api/v1/calls", files={"file": ("rec.wav", fh, "audio/wav")})
    assert again.status_code == 202 and again.json() == {"call_id": call_id, "state": "done", "created": False,
                                                         "task_id": None}
    assert api.get(f"/api/v1/calls/{call_id}/audio").content == wav.read_bytes()
