"""transcribe_call end to end on synthesised speech: mono, stereo, 8 kHz, silence, tones, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from callqa.asr import AsrOptions, transcribe_call
from callqa.asr.evaluation import DerAccumulator, phone_line
from callqa.asr.hallucination import normalise_text

from callqa.types import DecodedAudio

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def options(model_cache) -> AsrOptions:
    return AsrOptions(cache_dir=model_cache)


def _check_invariants(transcript, duration_s: float) -> None:
    for seg in transcript.segments:
        assert 0.0 <= seg.start_s <= seg.end_s <= duration_s + 0.05
        times = [(w.start_s, w.end_s) for w in seg.words]
        assert all(s <= e for s, e in times)
        assert all(a[0] <= b[0] + 1e-6 for a, b in zip(times, times[1:], strict=False))
        assert all(w.speaker == seg.speaker for w in seg.words)
    starts = [s.start_s for s in transcript.segments]
    assert starts == sorted(starts)


def test_mono_call_is_diarized_and_roles_found(two_party_call, options):
    audio = DecodedAudio(two_party_call.mono[None, :])
    transcript = transcribe_call(audio, options)
    _check_invariants(transcript, audio.duration_s)
    assert set(transcript.roles) == {"S0", "S1"}
    assert sorted(transcript.roles.values()) == ["client", "manager"]
    text = normalise_text(transcript.text)
    assert "меня зовут" in text and "доставка" in text
    manager_text = normalise_text(" ".join(s.text for s in transcript.segments if s.role == "manager"))
    assert "меня зовут" in manager_text
    der = DerAccumulator()
    der.add(two_party_call.turns, list(transcript.turns), audio.duration_s)
    assert der.value < 0.25
    assert "no_speech" not in transcript.flags


def test_stereo_call_uses_the_channel_map(two_party_call, options):
    swapped = DecodedAudio(two_party_call.channels[::-1].copy())  # client on channel 0
    transcript = transcribe_call(swapped, options, channel_map={"manager": 1, "client": 0})
    _check_invariants(transcript, swapped.duration_s)
    assert {s.speaker for s in transcript.segments} == {"manager", "client"}
    by_role = {r: normalise_text(" ".join(s.text for s in transcript.segments if s.role == r))
               for r in ("manager", "client")}
    assert "меня зовут" in by_role["manager"] and "сколько стоит" in by_role["client"]
    assert all(s.channel == (1 if s.speaker == "manager" else 0) for s in transcript.segments)
    assert transcript.role_confidence == 1.0 and "channel_map_suspect" not in transcript.flags
    # Overlaps are kept: the timeline is merged, not cut.
    assert {t.speaker for t in transcript.turns} == {"manager", "client"}


def test_phone_line_8khz_call(two_party_call, options):
    audio = DecodedAudio(phone_line(two_party_call.mono)[None, :], source_sample_rate_hz=8000)
    transcript = transcribe_call(audio, options)
    assert "меня зовут" in normalise_text(transcript.text)
    assert len({t.speaker for t in transcript.turns}) == 2


def _tones(duration_s: float) -> np.ndarray:
    t = np.arange(int(duration_s * 16000)) / 16000
    ring = 0.3 * (np.sin(2 * np.pi * 425 * t)) * ((t % 4.0) < 1.0)  # ring-back tone, 1 s on / 3 s off
    return ring.astype(np.float32)


def _music(duration_s: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(duration_s * 16000)) / 16000
    notes = rng.choice([261.6, 293.7, 329.6, 392.0, 440.0, 523.3], size=int(duration_s * 4) + 1)
    freq = notes[(t * 4).astype(int)]
    phase = 2 * np.pi * np.cumsum(freq) / 16000
    tone = 0.2 * np.sin(phase) + 0.1 * np.sin(2 * phase) + 0.05 * np.sin(3 * phase)
    return (tone * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t)) + 0.005 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize("make", [lambda d: np.zeros(int(d * 16000), np.float32),
                                  lambda d: (0.001 * np.random.default_rng(1).standard_normal(int(d * 16000))).astype(np.float32),
                                  _tones, _music], ids=["silence", "noise", "ring-tone", "hold-music"])
def test_no_speech_audio_gives_empty_flagged_transcript(make, options):
    transcript = transcribe_call(DecodedAudio(make(20.0)[None, :]), options)
    assert transcript.segments == () and "no_speech" in transcript.flags


def test_silent_stereo_gives_no_speech(options):
    transcript = transcribe_call(DecodedAudio(np.zeros((2, 16000 * 5), np.float32)), options)
    assert transcript.segments == () and "no_speech" in transcript.flags


@pytest.mark.parametrize(
    ("samples", "kwargs", "needle"),
    [
        (np.zeros((1, 4000), np.float32), {}, "at least 0.5 s"),
        (np.full((1, 16000), np.nan, np.float32), {}, "NaN"),
        (np.zeros((3, 16000), np.float32), {}, "mono or stereo"),
        (np.zeros((2, 16000), np.float32), {"channel_map": {"manager": 2}}, "channel"),
        (np.zeros((2, 16000), np.float32), {"channel_map": "middle"}, "bad channel map"),
    ],
)
def test_bad_input_is_a_clear_value_error(samples, kwargs, needle, options):
    with pytest.raises(ValueError, match=needle):
        transcribe_call(DecodedAudio(samples), options, **kwargs)


def test_missing_model_is_a_clear_error(two_party_call, tmp_path):
    with pytest.raises(ValueError, match="not available offline"):
        transcribe_call(DecodedAudio(two_party_call.mono[None, :]), AsrOptions(model="large-v3", cache_dir=tmp_path))
