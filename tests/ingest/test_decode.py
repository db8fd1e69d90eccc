"""Ingest decodes every supported format and rate to 16 kHz float32, keeping stereo apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from audio_factory import FORMATS, tone_signal, write_audio
from callqa.ingest import AudioDecodeError, decode_audio

RATES = (8000, 16000, 44100, 48000)


def _dominant_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("ext", sorted(FORMATS))
@pytest.mark.parametrize("rate", RATES)
def test_every_format_and_rate_decodes_to_16k_with_channels_kept(tmp_path: Path, ext: str, rate: int) -> None:
    path = write_audio(tmp_path / f"call{ext}", tone_signal(2.0, rate, 2), rate)
    audio = decode_audio(path)
    assert audio.sample_rate_hz == 16000
    assert audio.samples.dtype == np.float32
    assert audio.n_channels == 2
    assert 1.9 <= audio.duration_s <= 2.2
    assert np.isfinite(audio.samples).all()
    # channel 0 carries 220 Hz, channel 1 carries 440 Hz: stereo was not mixed down
    mid = audio.samples[:, 4000:20000]
    assert abs(_dominant_hz(mid[0], 16000) - 220) < 15
    assert abs(_dominant_hz(mid[1], 16000) - 440) < 15


@pytest.mark.parametrize("ext", [".wav", ".mp3", ".flac"])
def test_mono_stays_mono(tmp_path: Path, ext: str) -> None:
    audio = decode_audio(write_audio(tmp_path / f"m{ext}", tone_signal(1.0, 8000, 1), 8000))
    assert audio.n_channels == 1
    assert audio.source_sample_rate_hz == 8000


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioDecodeError, match="empty"):
        decode_audio(path)


def test_non_audio_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp3"
    path.write_text("this is a text file, not a recording\n" * 50)
    with pytest.raises(AudioDecodeError):
        decode_audio(path)


def test_truncated_header_is_a_clear_error(tmp_path: Path) -> None:
    good = write_audio(tmp_path / "good.wav", tone_signal(1.0, 16000, 1), 16000)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(good.read_bytes()[:30])
    with pytest.raises(AudioDecodeError):
        decode_audio(bad)


def test_zero_length_audio_is_a_clear_error(tmp_path: Path) -> None:
    good = write_audio(tmp_path / "good.wav", tone_signal(1.0, 16000, 1), 16000)
    bad = tmp_path / "zero.wav"
    bad.write_bytes(good.read_bytes()[:44])  # header only, no samples
    with pytest.raises(AudioDecodeError):
        decode_audio(bad)


def test_too_short_audio_is_rejected(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "blip.wav", tone_signal(0.2, 16000, 1), 16000)
    with pytest.raises(AudioDecodeError, match="at least 0.5 s"):
        decode_audio(path)


def test_truncated_tail_keeps_decoded_audio(tmp_path: Path) -> None:
    good = write_audio(tmp_path / "long.mp3", tone_signal(3.0, 16000, 1), 16000)
    data = good.read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(data[: len(data) // 2])
    audio = decode_audio(cut)
    assert 1.0 < audio.duration_s < 2.5
