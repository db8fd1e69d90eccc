"""Real synthesis with festival + sox: channels, sample rate and reference times match the audio."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from callqa.synth import (
    DialogueTurn,
    SynthOptions,
    VoiceOptions,
    festival_available,
    missing_tools,
    synthesize_dialogue,
)

from ._audio import decode, level_db, speech_span_s

IN_CI = os.environ.get("CI", "").lower() == "true"

TWO_TURNS = [
    DialogueTurn("manager", "Здравствуйте, компания «Окна Плюс», меня зовут Сергей."),
    DialogueTurn("client", "Добрый день. Хочу заказать замер на 2 окна в 15:30."),
]


@pytest.fixture(autouse=True)
def _need_festival() -> None:
    if not festival_available():
        reason = "speech synthesis tools missing: " + ", ".join(missing_tools())
        if IN_CI:
            pytest.fail(f"required under CI=true: {reason}")
        pytest.skip(reason)


def test_stereo_phone_line_wav(tmp_path: Path) -> None:
    path, ref = synthesize_dialogue(TWO_TURNS, out_dir=tmp_path, stereo=True, phone_line=True, seed=7)
    samples, rate = decode(path)
    assert path == tmp_path / "dialogue.wav"
    assert (rate, samples.shape[0]) == (8000, 2) == (ref.sample_rate_hz, ref.n_channels)
    assert samples.shape[1] / rate == pytest.approx(ref.duration_s, abs=0.01)
    assert ref.channel_map == {"manager": 0, "client": 1}
    manager, client = ref.turns
    assert (manager.role, client.role) == ("manager", "client")
    assert manager.spoken_text.endswith("меня зовут Сергей.")
    assert "два окна в пятнадцать тридцать" in client.spoken_text
    # Turns are in order, separated by a pause of 0.3-1.2 s, and inside the file.
    assert 0 < manager.start_s < manager.end_s < client.start_s < client.end_s < ref.duration_s
    assert 0.3 <= client.start_s - manager.end_s <= 1.2
    # Each channel carries only its party: speech where the reference says, silence elsewhere.
    for channel, turn in ((0, manager), (1, client)):
        start_s, end_s = speech_span_s(samples[channel], rate)
        assert start_s == pytest.approx(turn.start_s, abs=0.1)
        assert end_s == pytest.approx(turn.end_s, abs=0.1)
    assert level_db(samples[0], rate, client.start_s, client.end_s) < -50
    assert level_db(samples[1], rate, manager.start_s, manager.end_s) < -50
    assert level_db(samples[0], rate, manager.start_s, manager.end_s) > -30
    # Band-limited to the phone band: little energy below 300 Hz.
    spectrum = np.abs(np.fft.rfft(samples[0])) ** 2
    freqs = np.fft.rfftfreq(samples.shape[1], 1 / rate)
    assert spectrum[freqs < 200].sum() / spectrum.sum() < 0.01


def test_mono_mp3_reference_accounts_for_codec_delay(tmp_path: Path) -> None:
    path, ref = synthesize_dialogue(
        TWO_TURNS, out_dir=tmp_path, stereo=False, phone_line=True, seed=7, name="call", audio_format="mp3"
    )
    samples, rate = decode(path)
    assert path.suffix == ".mp3" and (rate, samples.shape[0]) == (8000, 1) == (
        ref.sample_rate_hz,
        ref.n_channels,
    )
    assert ref.channel_map == {}
    start_s, end_s = speech_span_s(samples[0], rate)
    assert start_s == pytest.approx(ref.turns[0].start_s, abs=0.1)
    assert end_s == pytest.approx(ref.turns[-1].end_s, abs=0.1)


def test_wideband_16k_and_distinct_voices(tmp_path: Path) -> None:
    turns = [
        DialogueTurn("manager", "Добрый день, слушаю вас внимательно."),
        DialogueTurn("client", "Добрый день, слушаю вас внимательно."),
    ]
    path, ref = synthesize_dialogue(turns, out_dir=tmp_path, stereo=True, phone_line=False, seed=1)
    samples, rate = decode(path)
    assert rate == 16000 == ref.sample_rate_hz

    def mean_pitch_hz(channel: np.ndarray, start_s: float, end_s: float) -> float:
        part = channel[int(start_s * rate) : int(end_s * rate)]
        pitches = []
        for i in range(0, len(part) - 640, 160):
            frame = part[i : i + 640] * np.hanning(640)
            if np.sqrt(np.mean(frame**2)) < 0.01:
                continue
            corr = np.correlate(frame, frame, "full")[639:]
            lo, hi = rate // 400, rate // 60
            lag = lo + int(np.argmax(corr[lo:hi]))
            if corr[lag] > 0.4 * corr[0]:
                pitches.append(rate / lag)
        return float(np.median(pitches))

    manager_f0 = mean_pitch_hz(samples[0], ref.turns[0].start_s, ref.turns[0].end_s)
    client_f0 = mean_pitch_hz(samples[1], ref.turns[1].start_s, ref.turns[1].end_s)
    # Same text, client pitched up 400 cents by default: about 2**(4/12) = 1.26 times higher.
    assert client_f0 / manager_f0 == pytest.approx(2 ** (400 / 1200), rel=0.12)


def test_same_seed_same_layout_other_seed_other_pauses(tmp_path: Path) -> None:
    turns = [
        DialogueTurn("manager", "Алло."),
        DialogueTurn("client", "Да."),
        DialogueTurn("manager", "Слушаю."),
    ]
    _, first = synthesize_dialogue(turns, out_dir=tmp_path / "a", stereo=True, phone_line=True, seed=3)
    _, again = synthesize_dialogue(turns, out_dir=tmp_path / "b", stereo=True, phone_line=True, seed=3)
    _, other = synthesize_dialogue(turns, out_dir=tmp_path / "c", stereo=True, phone_line=True, seed=4)
    assert first.turns == again.turns
    assert (tmp_path / "a" / "dialogue.wav").read_bytes() == (tmp_path / "b" / "dialogue.wav").read_bytes()
    assert [t.start_s for t in first.turns] != [t.start_s for t in other.turns]


def test_overlap_and_reference_files(tmp_path: Path) -> None:
    turns = [
        DialogueTurn("manager", "Мы можем привезти технику завтра утром."),
        DialogueTurn("client", "Отлично, подходит."),
    ]
    options = SynthOptions(
        overlap_probability=1.0, overlap_max_s=0.4, client_voice=VoiceOptions(pitch_cents=-300)
    )
    path, ref = synthesize_dialogue(
        turns,
        out_dir=tmp_path / "rec",
        stereo=False,
        phone_line=True,
        seed=5,
        name="overlap",
        audio_format="ogg",
        options=options,
        reference_dir=tmp_path / "ref",
    )
    manager, client = ref.turns
    assert client.start_s < manager.end_s  # the client starts before the manager has finished
    assert manager.end_s - client.start_s <= 0.41
    assert not (tmp_path / "rec" / "overlap.json").exists()  # never mistaken for an ingest sidecar
    rttm = (tmp_path / "ref" / "overlap.rttm").read_text().splitlines()
    assert rttm[0].split()[:5] == [
        "SPEAKER",
        "overlap",
        "1",
        f"{manager.start_s:.3f}",
        f"{manager.duration_s:.3f}",
    ]
    assert [line.split()[7] for line in rttm] == ["manager", "client"]
    assert (tmp_path / "ref" / "overlap.json").is_file()
    assert path.suffix == ".ogg"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"turns": []}, "at least one turn"),
        ({"turns": [{"role": "boss", "text": "Да"}]}, "not one of: manager, client"),
        ({"turns": [{"role": "manager"}]}, "needs 'role' and 'text'"),
        ({"turns": [{"role": "manager", "text": "  "}]}, "non-empty"),
        ({"turns": [{"role": "manager", "text": "123 ..."}], "audio_format": "aac"}, "is not one of: wav"),
        (
            {"turns": [{"role": "manager", "text": "Да"}], "audio_format": "mp3", "encoding": "ulaw"},
            "wav only",
        ),
        ({"turns": [{"role": "manager", "text": "Да"}], "name": "../x"}, "plain file stem"),
        ({"turns": [{"role": "manager", "text": "..."}]}, "nothing festival can read"),
    ],
)
def test_bad_input_is_a_value_error(tmp_path: Path, kwargs: dict, match: str) -> None:
    turns = kwargs.pop("turns")
    with pytest.raises(ValueError, match=match):
        synthesize_dialogue(turns, out_dir=tmp_path, stereo=True, phone_line=True, seed=0, **kwargs)


def test_option_validation_names_the_range() -> None:
    with pytest.raises(ValueError, match="pitch_cents must be in -1200..1200"):
        VoiceOptions(pitch_cents=2000)
    with pytest.raises(ValueError, match="pause_min_s <= pause_max_s"):
        SynthOptions(pause_min_s=2.0, pause_max_s=1.0)


def test_reference_converts_to_domain_turns(tmp_path: Path) -> None:
    _, ref = synthesize_dialogue(TWO_TURNS, out_dir=tmp_path, stereo=False, phone_line=False, seed=2)
    turns = ref.speaker_turns()
    assert [t.speaker for t in turns] == ["manager", "client"]
    assert [(t.start_s, t.end_s) for t in turns] == [(r.start_s, r.end_s) for r in ref.turns]
    assert ref.text == " ".join(t.text for t in TWO_TURNS)
