"""Voice activity detection with the Silero VAD ONNX model that faster-whisper bundles.

Speech probabilities are computed once per channel (in blocks, so long calls stay in bounded
memory) and turned into speech regions with hysteresis; the same probabilities feed both the
Whisper input and the diarizer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

VAD_FRAME_SAMPLES = 512  # Silero works on 32 ms frames at 16 kHz
VAD_SAMPLE_RATE_HZ = 16_000
VAD_FRAME_S = VAD_FRAME_SAMPLES / VAD_SAMPLE_RATE_HZ
_BLOCK_FRAMES = 18_750  # 10 minutes per ONNX call


@dataclass(frozen=True)
class SpeechRegion:
    """A span of speech in seconds."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def speech_probabilities(samples: np.ndarray) -> np.ndarray:
    """Silero speech probability per 32 ms frame.

    Args:
        samples: float32 array, shape (n_samples,), 16 kHz.

    Returns:
        float32 array, shape (ceil(n_samples / 512),), values in [0, 1].
    """
    from faster_whisper.vad import get_vad_model

    model = get_vad_model()
    n_frames = int(np.ceil(samples.shape[0] / VAD_FRAME_SAMPLES))
    probs = np.zeros(n_frames, dtype=np.float32)
    for first in range(0, n_frames, _BLOCK_FRAMES):
        last = min(n_frames, first + _BLOCK_FRAMES)
        block = samples[first * VAD_FRAME_SAMPLES: last * VAD_FRAME_SAMPLES]
        pad = (last - first) * VAD_FRAME_SAMPLES - block.shape[0]
        if pad:
            block = np.pad(block, (0, pad))
        # The ONNX wrapper zeroes context samples of its input in place: give it a copy.
        block = np.array(block, dtype=np.float32, copy=True)
        out = np.asarray(model(block), dtype=np.float32).reshape(-1)
        probs[first:last] = out[: last - first]
    return probs


def speech_regions(
    probs: np.ndarray,
    *,
    threshold: float = 0.5,
    neg_threshold: float | None = None,
    min_speech_s: float = 0.1,
    min_silence_s: float = 0.1,
    pad_s: float = 0.03,
    duration_s: float | None = None,
) -> list[SpeechRegion]:
    """Speech regions from frame probabilities (hysteresis as in Silero's own post-processing).

    Args:
        probs: output of :func:`speech_probabilities`.
        threshold: a frame at or above it starts speech.
        neg_threshold: speech ends only below it; default ``threshold - 0.15``.
        min_speech_s: shorter regions are dropped.
        min_silence_s: shorter gaps are bridged.
        pad_s: each region is widened by this much on both sides (clipped to the audio).
        duration_s: audio duration used for clipping; default ``len(probs) * 32 ms``.
    """
    if neg_threshold is None:
        neg_threshold = max(threshold - 0.15, 0.01)
    total_s = duration_s if duration_s is not None else len(probs) * VAD_FRAME_S
    raw: list[list[float]] = []
    active = False
    start = 0
    for i, p in enumerate(probs):
        if not active and p >= threshold:
            active, start = True, i
        elif active and p < neg_threshold:
            active = False
            raw.append([start * VAD_FRAME_S, i * VAD_FRAME_S])
    if active:
        raw.append([start * VAD_FRAME_S, len(probs) * VAD_FRAME_S])
    merged: list[list[float]] = []
    for region in raw:
        if merged and region[0] - merged[-1][1] < min_silence_s:
            merged[-1][1] = region[1]
        else:
            merged.append(region)
    out: list[SpeechRegion] = []
    for start_s, end_s in merged:
        if end_s - start_s < min_speech_s:
            continue
        start_s, end_s = max(0.0, start_s - pad_s), min(total_s, end_s + pad_s)
        if out and start_s <= out[-1].end_s:
            out[-1] = SpeechRegion(out[-1].start_s, end_s)
        else:
            out.append(SpeechRegion(start_s, end_s))
    return out


ENERGY_FRAME_S = 0.02


def frame_energy_db(samples: np.ndarray, frame_s: float = ENERGY_FRAME_S, sample_rate_hz: int = 16_000) -> np.ndarray:
    """Frame power in dB, float32 shape (n_frames,), computed block by block (no full-size temporaries)."""
    frame = int(frame_s * sample_rate_hz)
    n = samples.shape[0] // frame
    out = np.empty(n, dtype=np.float32)
    block = 30_000  # frames per block (10 min at 20 ms)
    for first in range(0, n, block):
        last = min(n, first + block)
        chunk = samples[first * frame: last * frame].reshape(last - first, frame).astype(np.float32)
        out[first:last] = 10.0 * np.log10(np.mean(chunk * chunk, axis=1) + 1e-10)
    return out


def refine_regions(samples: np.ndarray, regions: list[SpeechRegion], *, floor_margin_db: float = 10.0,
                   speech_margin_db: float = 30.0, max_extend_s: float = 1.0,
                   sample_rate_hz: int = 16_000) -> list[SpeechRegion]:
    """Move VAD boundaries to where the signal energy crosses a level set between noise floor and speech.

    Silero reacts late to quiet onsets on narrowband audio and pads the ends; the energy level is
    ``max(noise floor + floor_margin_db, median speech level - speech_margin_db)``. Boundaries are
    extended over loud frames (at most ``max_extend_s``) and pulled in over quiet ones.
    """
    if not regions:
        return regions
    db = frame_energy_db(samples, sample_rate_hz=sample_rate_hz)
    n = db.shape[0]
    if n == 0:
        return regions
    inside = np.zeros(n, dtype=bool)
    for region in regions:
        inside[int(region.start_s / ENERGY_FRAME_S): int(region.end_s / ENERGY_FRAME_S)] = True
    if not inside.any():
        return regions
    level = max(float(np.percentile(db, 10)) + floor_margin_db, float(np.median(db[inside])) - speech_margin_db)
    limit = int(max_extend_s / ENERGY_FRAME_S)
    out: list[SpeechRegion] = []
    for region in regions:
        a, b = int(region.start_s / ENERGY_FRAME_S), min(n, int(region.end_s / ENERGY_FRAME_S))
        lo, hi = max(0, a - limit), min(n, b + limit)
        while a > lo and db[a - 1] > level:
            a -= 1
        while b < hi and db[b] > level:
            b += 1
        while b > a + 1 and db[b - 1] <= level:
            b -= 1
        while a < b - 1 and db[a] <= level:
            a += 1
        start_s, end_s = a * ENERGY_FRAME_S, b * ENERGY_FRAME_S
        if out and start_s <= out[-1].end_s:
            out[-1] = SpeechRegion(out[-1].start_s, max(end_s, out[-1].end_s))
        elif end_s > start_s:
            out.append(SpeechRegion(start_s, end_s))
    return out
