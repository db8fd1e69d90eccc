"""Evaluation helpers: WER normalisation, phone-line simulation, synthetic two-party calls, DER.

Used by ``callqa eval`` and the benchmark scripts; reads the shared evaluation data from a path
given by the caller.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from callqa.asr.hallucination import normalise_text

from callqa.types import Turn

logger = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16_000


@dataclass(frozen=True)
class Utterance:
    """One cv-ru-100 clip."""

    id: str
    path: Path
    text: str
    speaker: str
    duration_s: float


def load_manifest(folder: Path, limit: int | None = None) -> list[Utterance]:
    """cv-ru-100 manifest rows, in file order."""
    manifest = folder / "manifest.jsonl"
    if not manifest.is_file():
        raise ValueError(f"{manifest} not found: point --data at the shared cv-ru-100 folder")
    rows = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            rows.append(Utterance(item["id"], folder / item["audio"], item["text"], item["speaker"],
                                  float(item["duration"])))
    return rows[:limit] if limit else rows


def load_audio(path: Path) -> np.ndarray:
    """Decode any file to float32 mono 16 kHz, shape (n_samples,)."""
    from faster_whisper import decode_audio

    return decode_audio(str(path), sampling_rate=SAMPLE_RATE_HZ)


def phone_line(samples: np.ndarray, *, mu_law: bool = True) -> np.ndarray:
    """Simulate a narrowband phone channel: 8 kHz, 300-3400 Hz band-pass, 8-bit mu-law, back to 16 kHz."""
    from scipy.signal import butter, resample_poly, sosfilt

    narrow = resample_poly(samples.astype(np.float64), 1, 2)
    sos = butter(4, [300, 3400], btype="bandpass", fs=8000, output="sos")
    narrow = sosfilt(sos, narrow)
    if mu_law:
        mu = 255.0
        clipped = np.clip(narrow, -1.0, 1.0)
        encoded = np.sign(clipped) * np.log1p(mu * np.abs(clipped)) / np.log1p(mu)
        quantised = np.round((encoded + 1) / 2 * mu) / mu * 2 - 1
        narrow = np.sign(quantised) * ((1 + mu) ** np.abs(quantised) - 1) / mu
    return resample_poly(narrow, 2, 1).astype(np.float32)


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, number of reference words) after normalisation."""
    from rapidfuzz.distance import Levenshtein

    ref = normalise_text(reference).split()
    hyp = normalise_text(hypothesis).split()
    return int(Levenshtein.distance(ref, hyp)), len(ref)


def corpus_wer(pairs: Sequence[tuple[str, str]]) -> float:
    """Corpus WER: total word edits / total reference words."""
    edits = words = 0
    for ref, hyp in pairs:
        e, n = word_errors(ref, hyp)
        edits, words = edits + e, words + n
    return edits / max(words, 1)


def trim_silence(samples: np.ndarray, *, threshold_db: float = -35.0, frame_s: float = 0.02) -> np.ndarray:
    """Cut leading/trailing silence by frame energy relative to the loudest frame (not the VAD under test)."""
    frame = int(frame_s * SAMPLE_RATE_HZ)
    n = samples.shape[0] // frame
    if n == 0:
        return samples
    rms = np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    # Sustained loudness only (>= 3 of 5 frames over 100 ms), so a click at the start is not speech.
    is_loud = (20 * np.log10(rms / rms.max()) > threshold_db).astype(np.float32)
    sustained = np.convolve(is_loud, np.ones(5) / 5, mode="same") >= 0.6
    loud = np.nonzero(sustained & (is_loud > 0))[0]
    if loud.size == 0:
        return samples[:0]
    return samples[loud[0] * frame: (loud[-1] + 1) * frame]


@dataclass(frozen=True)
class SyntheticCall:
    """A two-party call assembled from single-speaker clips with exact references."""

    channels: np.ndarray  # float32 (2, n_samples): party A on 0, party B on 1
    turns: tuple[Turn, ...]  # reference, speakers "A"/"B"

    @property
    def mono(self) -> np.ndarray:
        return np.clip(self.channels.sum(axis=0), -1.0, 1.0).astype(np.float32)


def assemble_call(clips_a: Sequence[np.ndarray], clips_b: Sequence[np.ndarray], *, seed: int = 0,
                  overlap_probability: float = 0.2, pause_s: tuple[float, float] = (0.2, 1.5),
                  phone: bool = True) -> SyntheticCall:
    """Alternate A/B clips with random pauses and some overlaps (next turn starting early)."""
    rng = np.random.default_rng(seed)
    order: list[tuple[str, np.ndarray]] = []
    for i in range(max(len(clips_a), len(clips_b))):
        if i < len(clips_a):
            order.append(("A", trim_silence(clips_a[i])))
        if i < len(clips_b):
            order.append(("B", trim_silence(clips_b[i])))
    cursor = 0.5
    placed: list[tuple[str, float, np.ndarray]] = []
    for speaker, clip in order:
        if clip.size == 0:
            continue
        placed.append((speaker, cursor, clip))
        end = cursor + clip.shape[0] / SAMPLE_RATE_HZ
        if rng.random() < overlap_probability:
            cursor = end - float(rng.uniform(0.3, 0.8))
        else:
            cursor = end + float(rng.uniform(*pause_s))
    total = int((max(s + c.shape[0] / SAMPLE_RATE_HZ for _, s, c in placed) + 0.5) * SAMPLE_RATE_HZ)
    channels = np.zeros((2, total), dtype=np.float32)
    turns = []
    for speaker, start_s, clip in placed:
        ch = 0 if speaker == "A" else 1
        first = int(start_s * SAMPLE_RATE_HZ)
        gain = 0.3 / max(float(np.abs(clip).max()), 1e-6)
        channels[ch, first:first + clip.shape[0]] += gain * clip
        turns.append(Turn(round(first / SAMPLE_RATE_HZ, 3), round((first + clip.shape[0]) / SAMPLE_RATE_HZ, 3),
                          speaker))
    if phone:
        channels = np.stack([phone_line(channels[0]), phone_line(channels[1])])[:, :total]
    return SyntheticCall(channels=channels, turns=tuple(turns))


def synthetic_calls(folder: Path, *, n_calls: int = 5, clips_per_speaker: int = 3, phone: bool = True,
                    seed: int = 0) -> list[SyntheticCall]:
    """Two-party calls from pairs of different cv-ru-100 speakers (each speaker used once)."""
    rows = load_manifest(folder)
    by_speaker: dict[str, list[Utterance]] = {}
    for row in rows:
        by_speaker.setdefault(row.speaker, []).append(row)
    eligible = sorted((s for s, u in by_speaker.items() if len(u) >= clips_per_speaker),
                      key=lambda s: (-len(by_speaker[s]), s))
    calls = []
    for i in range(min(n_calls, len(eligible) // 2)):
        a, b = eligible[2 * i], eligible[2 * i + 1]
        clips_a = [load_audio(u.path) for u in by_speaker[a][:clips_per_speaker]]
        clips_b = [load_audio(u.path) for u in by_speaker[b][:clips_per_speaker]]
        calls.append(assemble_call(clips_a, clips_b, seed=seed + i, phone=phone))
    return calls


def to_annotation(turns: Sequence[Turn]):
    """pyannote.core Annotation from turns."""
    from pyannote.core import Annotation, Segment

    annotation = Annotation()
    for i, turn in enumerate(turns):
        if turn.end_s > turn.start_s:
            annotation[Segment(turn.start_s, turn.end_s), i] = turn.speaker
    return annotation


def read_rttm(path: Path) -> list[Turn]:
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0] == "SPEAKER":
            start, duration = float(parts[3]), float(parts[4])
            turns.append(Turn(start, start + duration, parts[7]))
    return turns


class DerAccumulator:
    """DER with no collar and overlap scored, accumulated over files (pyannote.metrics)."""

    def __init__(self) -> None:
        import warnings

        from pyannote.metrics.diarization import DiarizationErrorRate

        warnings.filterwarnings("ignore", message=".*'uem' was approximated.*")
        self.metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)

    def add(self, reference: Sequence[Turn], hypothesis: Sequence[Turn], duration_s: float) -> float:
        from pyannote.core import Segment, Timeline

        uem = Timeline([Segment(0.0, duration_s)])
        return float(self.metric(to_annotation(reference), to_annotation(hypothesis), uem=uem))

    @property
    def value(self) -> float:
        return float(abs(self.metric))
