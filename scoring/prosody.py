"""Prosody from audio: pitch (YIN on voiced frames) and loudness (RMS dBFS), in numpy only."""

from __future__ import annotations

import numpy as np

HOP_S = 0.010
FRAME_S = 0.030
SILENCE_DBFS = -120.0


def frame_energy(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Mean square per 10 ms hop; float64 array shape (n_hops,)."""
    hop = int(round(sample_rate_hz * HOP_S))
    n = samples.shape[-1] // hop
    if n == 0:
        return np.zeros(0)
    blocks = samples[: n * hop].astype(np.float64).reshape(n, hop)
    return np.mean(blocks * blocks, axis=1)


def rms_dbfs(mean_square: float) -> float:
    """RMS level in dB relative to full scale (a full-scale sine is -3 dBFS)."""
    if mean_square <= 0:
        return SILENCE_DBFS
    return float(10.0 * np.log10(mean_square))


def yin_pitch(
    samples: np.ndarray,
    sample_rate_hz: int,
    hops: np.ndarray,
    *,
    fmin_hz: float = 60.0,
    fmax_hz: float = 400.0,
    threshold: float = 0.15,
    max_frames: int = 3000,
) -> np.ndarray:
    """Pitch of the voiced frames starting at the given 10 ms hops (YIN, de Cheveigné & Kawahara 2002).

    Args:
        samples: float array, shape (n_samples,).
        sample_rate_hz: rate of ``samples``.
        hops: indices of 10 ms hops to analyse (frames of 30 ms start there).
        fmin_hz, fmax_hz: pitch search range.
        threshold: cumulative-mean-normalised difference below which a frame is voiced.
        max_frames: at most this many frames are analysed (evenly subsampled), to bound cost.

    Returns:
        float array of f0 in Hz, one per voiced frame (unvoiced frames dropped).
    """
    if len(hops) == 0:
        return np.zeros(0)
    x = np.asarray(samples, dtype=np.float64)
    rate = float(sample_rate_hz)
    if sample_rate_hz >= 16000:  # pitch needs no more than 8 kHz: halve the work
        factor = int(sample_rate_hz // 8000)
        n = x.shape[0] // factor
        x = x[: n * factor].reshape(n, factor).mean(axis=1)
        rate = sample_rate_hz / factor
    if len(hops) > max_frames:
        hops = hops[np.linspace(0, len(hops) - 1, max_frames).astype(int)]
    hop = int(round(rate * HOP_S))
    width = int(round(rate * FRAME_S))
    tau_min = max(2, int(rate / fmax_hz))
    tau_max = int(np.ceil(rate / fmin_hz))
    total = width + tau_max
    starts = hops.astype(np.int64) * hop
    starts = starts[starts + total <= x.shape[0]]
    if len(starts) == 0:
        return np.zeros(0)
    frames = x[starts[:, None] + np.arange(total)[None, :]]  # (n, total)
    frames = frames - frames.mean(axis=1, keepdims=True)
    n_fft = 1 << int(np.ceil(np.log2(2 * total)))
    spec_full = np.fft.rfft(frames, n_fft, axis=1)
    spec_head = np.fft.rfft(frames[:, :width], n_fft, axis=1)
    corr = np.fft.irfft(np.conj(spec_head) * spec_full, n_fft, axis=1)[:, : tau_max + 1]  # r(tau)
    squares = np.concatenate([np.zeros((frames.shape[0], 1)), np.cumsum(frames * frames, axis=1)], axis=1)
    energy0 = squares[:, width]
    taus = np.arange(tau_max + 1)
    energy_tau = squares[:, taus + width] - squares[:, taus]
    diff = np.maximum(energy0[:, None] + energy_tau - 2.0 * corr, 0.0)
    cumulative = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] * taus[1:] / np.maximum(cumulative, 1e-12)
    search = cmnd[:, tau_min:]
    below = search < threshold
    voiced = below.any(axis=1)
    tau = np.argmax(below, axis=1) + tau_min
    rows = np.arange(len(tau))
    for _ in range(tau_max):  # walk down to the local minimum after the first dip below threshold
        step = (tau < tau_max) & (cmnd[rows, np.minimum(tau + 1, tau_max)] < cmnd[rows, tau])
        if not step.any():
            break
        tau = tau + step
    # parabolic interpolation around the minimum for sub-sample precision
    left = cmnd[rows, np.maximum(tau - 1, 0)]
    mid = cmnd[rows, tau]
    right = cmnd[rows, np.minimum(tau + 1, tau_max)]
    denom = left - 2 * mid + right
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / np.where(denom == 0, 1, denom), 0.0)
    period = tau + np.clip(shift, -1, 1)
    f0 = rate / period[voiced]
    return f0[(f0 >= fmin_hz) & (f0 <= fmax_hz)]
