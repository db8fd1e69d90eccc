"""Speaker embeddings with the resemblyzer GE2E encoder, loaded from the weights its wheel ships.

The network (3-layer LSTM, 40 mel bands, 256-d output) is rebuilt here so that resemblyzer's
package import (which pulls webrtcvad -> pkg_resources) is not needed.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

MEL_SAMPLE_RATE_HZ = 16_000
MEL_HOP_S = 0.01  # resemblyzer: 10 ms hop, 25 ms window, 40 mel bands
_N_FFT = 400
_HOP = 160
_N_MELS = 40


def _weights_path() -> Path:
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("the embedded diarizer needs the resemblyzer package: pip install resemblyzer")
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    if not path.is_file():
        raise ValueError(f"resemblyzer weights not found at {path}; reinstall resemblyzer")
    return path


@functools.lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=MEL_SAMPLE_RATE_HZ, n_fft=_N_FFT, n_mels=_N_MELS).astype(np.float32)


def mel_frames(samples: np.ndarray) -> np.ndarray:
    """Mel power spectrogram as resemblyzer computes it.

    Args:
        samples: float32 array, shape (n_samples,), 16 kHz.

    Returns:
        float32 array, shape (n_frames, 40), one frame per 10 ms (frame i centred at i * 10 ms).
    """
    x = np.asarray(samples, dtype=np.float32)
    x = np.pad(x, (_N_FFT // 2, _N_FFT // 2))
    n_frames = 1 + (x.shape[0] - _N_FFT) // _HOP
    if n_frames <= 0:
        return np.zeros((0, _N_MELS), dtype=np.float32)
    frames = np.lib.stride_tricks.as_strided(
        x, shape=(n_frames, _N_FFT), strides=(x.strides[0] * _HOP, x.strides[0])
    )
    window = np.hanning(_N_FFT + 1)[:-1].astype(np.float32)
    spec = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    return (spec.astype(np.float32) @ _mel_basis().T).astype(np.float32)


class SpeakerEncoder:
    """GE2E speaker encoder: mel windows (batch, n_frames, 40) -> L2-normalised (batch, 256)."""

    def __init__(self, device: str = "cpu") -> None:
        import torch
        from torch import nn

        self._torch = torch
        self.device = torch.device(device)
        self.lstm = nn.LSTM(_N_MELS, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)
        state = torch.load(_weights_path(), map_location="cpu", weights_only=False)["model_state"]
        self.lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
        self.linear.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("linear.")})
        self.lstm.to(self.device).eval()
        self.linear.to(self.device).eval()

    def embed(self, mels: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Embeddings of equal-length mel windows, float32 shape (batch, 256)."""
        torch = self._torch
        out = []
        # One intra-op thread: the LSTM is small and OpenMP spinning against CTranslate2's threads
        # on a 2-core machine made it ~10x slower.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                for first in range(0, mels.shape[0], batch_size):
                    batch = torch.from_numpy(np.ascontiguousarray(mels[first:first + batch_size])).to(self.device)
                    _, (hidden, _) = self.lstm(batch)
                    raw = torch.relu(self.linear(hidden[-1]))
                    out.append((raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-8)).cpu().numpy())
        finally:
            torch.set_num_threads(threads)
        if not out:
            return np.zeros((0, 256), dtype=np.float32)
        return np.concatenate(out).astype(np.float32)


@functools.lru_cache(maxsize=2)
def load_speaker_encoder(device: str = "cpu") -> SpeakerEncoder:
    """The encoder, loaded once per device."""
    return SpeakerEncoder(device)
