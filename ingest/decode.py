"""Decode any supported recording to 16 kHz float32 with PyAV, keeping stereo channels apart."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np

from callqa.types import TARGET_SAMPLE_RATE_HZ, DecodedAudio

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".wav", ".mp3", ".ogg", ".opus", ".oga", ".m4a", ".aac", ".mp4", ".flac", ".webm")
MIN_DURATION_S = 0.5
MAX_CHANNELS = 2


class AudioDecodeError(ValueError):
    """The file is not decodable audio (empty, truncated, not audio, too short)."""


def decode_audio(path: str | Path, *, sample_rate_hz: int = TARGET_SAMPLE_RATE_HZ) -> DecodedAudio:
    """Decode ``path`` to float32 at ``sample_rate_hz``.

    Returns:
        DecodedAudio with samples of shape (n_channels, n_samples); stereo keeps both channels,
        more than two channels are down-mixed to mono.

    Raises:
        AudioDecodeError: empty, truncated or non-audio file, or shorter than 0.5 s.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioDecodeError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise AudioDecodeError(f"{path.name}: empty file (0 bytes)")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise AudioDecodeError(f"{path.name}: not a readable audio file ({exc.strerror or exc})") from exc
    try:
        if not container.streams.audio:
            raise AudioDecodeError(f"{path.name}: the file has no audio stream")
        stream = container.streams.audio[0]
        source_rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        n_channels = int(stream.codec_context.channels or 1)
        layout = "stereo" if n_channels == 2 else "mono"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate_hz)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as exc:
            if not chunks:
                raise AudioDecodeError(f"{path.name}: corrupt audio data ({exc.strerror or exc})") from exc
            # A truncated tail: keep what decoded, as players do, but say so.
            logger.warning("%s: decoding stopped early (%s); keeping %d decoded frames", path.name, exc, len(chunks))
        fmt = f"{container.format.name}/{stream.codec_context.name}"
    finally:
        container.close()
    if not chunks:
        raise AudioDecodeError(f"{path.name}: no audio frames could be decoded (zero-length or truncated file)")
    samples = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    if samples.shape[0] > MAX_CHANNELS:
        samples = samples.mean(axis=0, keepdims=True)
    if not np.isfinite(samples).all():
        raise AudioDecodeError(f"{path.name}: audio contains NaN or infinite samples")
    duration_s = samples.shape[1] / sample_rate_hz
    if duration_s < MIN_DURATION_S:
        raise AudioDecodeError(f"{path.name}: audio is {duration_s:.2f} s long; at least {MIN_DURATION_S} s is needed")
    return DecodedAudio(
        samples=np.ascontiguousarray(samples),
        sample_rate_hz=sample_rate_hz,
        source_sample_rate_hz=source_rate,
        source_format=fmt,
    )
