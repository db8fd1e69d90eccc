"""The demo call scripts are valid and the rendered recordings in demo/ match them and their references.

These tests need no festival: they read the committed files. If a script changes, re-render with
``python scripts/synth_demo.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from callqa.synth import SIDECAR_KEYS, load_demo_script, parse_demo_script

from ._audio import decode, level_db

DEMO = Path(__file__).resolve().parents[2] / "demo"
SCRIPTS = sorted((DEMO / "scripts").glob("*.yaml"))
IDS = [path.stem for path in SCRIPTS]


def audio_of(call_id: str) -> Path:
    found = [p for p in (DEMO / "recordings").glob(f"{call_id}.*") if p.suffix != ".json"]
    assert len(found) == 1, f"expected one recording for {call_id}, found {found}"
    return found[0]


def test_demo_set_covers_the_call_kinds() -> None:
    scripts = [load_demo_script(path) for path in SCRIPTS]
    assert len(scripts) == 8
    assert {s.expected["class"] for s in scripts} == {"lead", "non_target", "spam", "upsell", "service"}
    assert sum(s.render.stereo for s in scripts) == 5
    assert {s.metadata["direction"] for s in scripts} == {"inbound", "outbound"}
    assert {s.render.audio_format for s in scripts} == {"wav", "mp3", "ogg"}
    cold = {
        s.call_id: " ".join(t.text for t in s.turns)
        for s in scripts
        if s.metadata["source_channel"] == "cold_base"
    }
    assert "рекламным предложением" in cold["cold_saas_disclosure"]
    assert "реклам" not in cold["cold_dental_no_disclosure"]


def test_recordings_stay_small() -> None:
    total = sum(audio_of(call_id).stat().st_size for call_id in IDS)
    assert total < 5 * 1024 * 1024


@pytest.mark.parametrize("call_id", IDS)
def test_recording_matches_script_sidecar_and_reference(call_id: str) -> None:
    script = load_demo_script(DEMO / "scripts" / f"{call_id}.yaml")
    audio = audio_of(call_id)
    assert audio.suffix == "." + script.render.audio_format
    sidecar = json.loads((DEMO / "recordings" / f"{call_id}.json").read_text(encoding="utf-8"))
    assert tuple(sidecar) == SIDECAR_KEYS
    assert sidecar == script.sidecar()
    assert sidecar["external_id"] == call_id
    assert (sidecar["channel_map"] is not None) == script.render.stereo

    reference = json.loads((DEMO / "references" / f"{call_id}.json").read_text(encoding="utf-8"))
    assert reference["expected"] == script.expected
    assert [(t["role"], t["text"]) for t in reference["turns"]] == [(t.role, t.text) for t in script.turns], (
        "script changed since rendering: run python scripts/synth_demo.py"
    )
    rttm = (DEMO / "references" / f"{call_id}.rttm").read_text().splitlines()
    assert len(rttm) == len(script.turns) and all(line.split()[1] == call_id for line in rttm)

    samples, rate = decode(audio)
    assert rate == reference["sample_rate_hz"] == (8000 if script.render.phone_line else 16000)
    assert samples.shape[0] == reference["n_channels"] == (2 if script.render.stereo else 1)
    duration_s = samples.shape[1] / rate
    assert duration_s == pytest.approx(reference["duration_s"], abs=0.02)
    assert 25 <= duration_s <= 75
    starts = [t["start_s"] for t in reference["turns"]]
    assert starts == sorted(starts) and reference["turns"][-1]["end_s"] < duration_s
    for turn in reference["turns"]:
        mid_s = (turn["start_s"] + turn["end_s"]) / 2
        window = (max(turn["start_s"], mid_s - 0.5), min(turn["end_s"], mid_s + 0.5))
        if script.render.stereo:
            own, other = (0, 1) if turn["role"] == "manager" else (1, 0)
            assert level_db(samples[own], rate, *window) > -40, turn
            overlapped = any(
                t["role"] != turn["role"] and t["start_s"] < window[1] and t["end_s"] > window[0]
                for t in reference["turns"]
            )
            if not overlapped:
                assert level_db(samples[other], rate, *window) < -50, turn
        else:
            assert level_db(samples[0], rate, *window) > -40, turn
    gaps = [
        b["start_s"] - a["end_s"] for a, b in zip(reference["turns"], reference["turns"][1:], strict=False)
    ]
    assert np.all(np.array(gaps) < 1.3)


def test_bad_script_errors_name_the_field() -> None:
    data = yaml.safe_load(SCRIPTS[0].read_text(encoding="utf-8"))
    for mutate, match in [
        (lambda d: d["expected"].update({"class": "hot"}), "expected class 'hot' is not one of"),
        (lambda d: d["metadata"].update({"direction": "sideways"}), "direction 'sideways' is not one of"),
        (lambda d: d["metadata"].update({"started_at": "вчера"}), "not ISO 8601"),
        (lambda d: d["metadata"].update({"colour": "red"}), "unknown metadata keys"),
        (lambda d: d["render"].update({"format": "aac"}), "format 'aac' is not one of"),
        (lambda d: d["render"].update({"voices": {"client": {"pitch": 1}}}), "unknown voice keys"),
        (lambda d: d.pop("turns"), "missing key 'turns'"),
        (lambda d: d["turns"].append({"role": "robot", "text": "Да"}), "not one of: manager, client"),
    ]:
        broken = yaml.safe_load(yaml.safe_dump(data, allow_unicode=True))
        mutate(broken)
        with pytest.raises(ValueError, match=match):
            parse_demo_script(broken, source="broken.yaml")
