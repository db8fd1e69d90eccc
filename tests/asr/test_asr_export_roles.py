"""Exports, role assignment and the hallucination phrase guard (no model needed)."""

from __future__ import annotations

import json

from callqa.asr.export import to_json, to_rttm, to_srt, to_vtt
from callqa.asr.hallucination import is_known_hallucination, normalise_text
from callqa.asr.roles import assign_roles, check_channel_map

from callqa.types import Segment, Transcript, Turn, Word


def _transcript() -> Transcript:
    words = (Word(0.5, 0.9, "Здравствуйте,", 0.9, "S0"), Word(1.0, 1.4, "компания", 0.8, "S0"))
    return Transcript(
        segments=(Segment(0.5, 1.4, "Здравствуйте, компания", "S0", "manager", words, 0.85),
                  Segment(3661.25, 3662.0, "Алло", "S1", "client")),
        duration_s=3663.0, roles={"S0": "manager", "S1": "client"},
        turns=(Turn(0.5, 1.4, "S0"), Turn(3661.25, 3662.0, "S1")),
    )


def test_srt_and_vtt_timestamps():
    srt = to_srt(_transcript())
    assert "1\n00:00:00,500 --> 00:00:01,400\n[manager] Здравствуйте, компания" in srt
    assert "01:01:01,250 --> 01:01:02,000" in srt
    vtt = to_vtt(_transcript())
    assert vtt.startswith("WEBVTT") and "01:01:01.250 --> 01:01:02.000\n<v client>Алло" in vtt


def test_rttm_and_json_roundtrip():
    rttm = to_rttm(_transcript(), file_id="c1").splitlines()
    assert rttm[0] == "SPEAKER c1 1 0.500 0.900 <NA> <NA> S0 <NA> <NA>"
    assert Transcript.from_dict(json.loads(to_json(_transcript()))) == _transcript()


def test_text_cues_pick_the_manager_even_when_client_speaks_first():
    segs = [Segment(0.0, 1.0, "Алло?", "S0"), Segment(1.2, 4.0, "Добрый день, меня зовут Олег, компания Вектор.", "S1")]
    roles, confidence = assign_roles(segs, ["S0", "S1"])
    assert roles == {"S0": "client", "S1": "manager"} and confidence > 0.7


def test_direction_decides_without_cues():
    segs = [Segment(0.0, 1.0, "Да.", "S0"), Segment(1.2, 2.0, "Хорошо.", "S1")]
    assert assign_roles(segs, ["S0", "S1"], direction="inbound")[0]["S0"] == "manager"
    assert assign_roles(segs, ["S0", "S1"], direction="outbound")[0]["S1"] == "manager"


def test_swapped_channel_map_lowers_confidence():
    segs = [Segment(0.0, 2.0, "Здравствуйте, меня зовут Анна, компания Ромашка, чем могу помочь?", "client"),
            Segment(2.5, 3.0, "Алло, сколько стоит?", "manager")]
    assert check_channel_map(segs) < 0.5
    assert check_channel_map(list(reversed([Segment(s.start_s, s.end_s, s.text, "manager" if s.speaker == "client"
                                                    else "client") for s in segs]))) == 1.0


def test_known_hallucination_phrases():
    assert is_known_hallucination("Продолжение следует...")
    assert is_known_hallucination("Субтитры сделал DimaTorzok")
    assert not is_known_hallucination("Продолжение разговора следует после обеда, когда приедет директор склада")
    # A whole credit line (seen from the base model over the trailing silence of a call).
    assert is_known_hallucination("Редактор субтитров А.Семкин Корректор В.Сухиашвили")
    assert not is_known_hallucination("Спасибо за внимание, я пришлю договор и счёт сегодня вечером")
    assert normalise_text("Ёлка, ЁЖ!") == "елка еж"
