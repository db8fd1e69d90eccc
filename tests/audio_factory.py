"""Make small test recordings in any container/codec with PyAV (no system ffmpeg)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# extension -> (container format, codec)
FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("wav", "pcm_s16le"),
    ".mp3": ("mp3", "libmp3lame"),
    ".ogg": ("ogg", "libopus"),
    ".opus": ("ogg", "libopus"),
    ".m4a": ("ipod", "aac"),
    ".aac": ("adts", "aac"),
    ".flac": ("flac", "flac"),
}


def tone_signal(duration_s: float, sample_rate_hz: int, channels: int, *, seed: int = 0) -> np.ndarray:
    """Distinct tones per channel plus a little noise, float32 shape (channels, n)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * sample_rate_hz)) / sample_rate_hz
    rows = [
        0.3 * np.sin(2 * np.pi * (220.0 * (c + 1)) * t) + 0.01 * rng.standard_normal(t.size)
        for c in range(channels)
    ]
    return np.asarray(rows, dtype=np.float32)


def write_audio(path: Path, samples: np.ndarray, sample_rate_hz: int) -> Path:
    """Encode float32 (channels, n) to ``path``; the codec comes from the extension."""
    fmt, codec = FORMATS[path.suffix.lower()]
    channels = samples.shape[0]
    layout = "stereo" if channels == 2 else "mono"
    with av.open(str(path), mode="w", format=fmt) as container:
        rate = sample_rate_hz
        if codec == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
            rate = 48000
        stream = container.add_stream(codec, rate=rate)
        stream.layout = layout
        stream.time_base = Fraction(1, rate)
        if rate != sample_rate_hz:
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        else:
            resampler = None
        frame_size = 1024
        pts = 0
        pcm = np.ascontiguousarray(samples, dtype=np.float32)
        for start in range(0, pcm.shape[1], frame_size):
            chunk = np.ascontiguousarray(pcm[:, start:start + frame_size])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = sample_rate_hz
            frames = resampler.resample(frame) if resampler else [frame]
            for fr in frames:
                fr.pts = None
                for packet in stream.encode(fr):
                    container.mux(packet)
            pts += chunk.shape[1]
        for packet in stream.encode(None):
            container.mux(packet)
    return path
