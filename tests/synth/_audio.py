"""Audio checks shared by the synth tests: decode like ingest does, measure levels and speech spans."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def decode(path: Path) -> tuple[np.ndarray, int]:
    """Decode with PyAV (as ingest does): float32 (n_channels, n_samples), sample rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout="stereo" if stream.channels == 2 else "mono")
        chunks = [f.to_ndarray() for frame in container.decode(stream) for f in resampler.resample(frame)]
        return np.concatenate(chunks, axis=1), int(stream.rate)


def frame_db(channel: np.ndarray, rate: int, frame_s: float = 0.01) -> np.ndarray:
    size = int(rate * frame_s)
    n = len(channel) // size
    frames = channel[: n * size].reshape(n, size).astype(np.float64)
    return 20 * np.log10(np.sqrt((frames**2).mean(axis=1)) + 1e-9)


def speech_span_s(channel: np.ndarray, rate: int, threshold_db: float = -45.0) -> tuple[float, float]:
    voiced = np.flatnonzero(frame_db(channel, rate) > threshold_db)
    assert voiced.size, "no speech found"
    return voiced[0] * 0.01, (voiced[-1] + 1) * 0.01


def level_db(channel: np.ndarray, rate: int, start_s: float, end_s: float) -> float:
    part = channel[int(start_s * rate) : int(end_s * rate)].astype(np.float64)
    return float(20 * np.log10(np.sqrt((part**2).mean()) + 1e-9))
