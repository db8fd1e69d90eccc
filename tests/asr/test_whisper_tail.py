"""Decoding stops where VAD hears no more speech: Whisper's trailing-silence window is never decoded."""

from __future__ import annotations

import numpy as np
from callqa.asr import AsrOptions
from callqa.asr.options import Runtime
from callqa.asr.vad import VAD_FRAME_S
from callqa.asr.whisper_asr import _SpeechLeft, transcribe_channel
from faster_whisper.transcribe import Segment, TranscriptionInfo, Word

RATE = 16_000


def _probs(duration_s: float, speech: list[tuple[float, float]]) -> np.ndarray:
    probs = np.zeros(int(np.ceil(duration_s / VAD_FRAME_S)), dtype=np.float32)
    for start, end in speech:
        probs[int(start / VAD_FRAME_S):int(end / VAD_FRAME_S)] = 0.9
    return probs


def _segment(start: float, end: float, text: str) -> Segment:
    words = [Word(start=start, end=end, word=" " + text, probability=0.9)]
    return Segment(id=0, seek=0, start=start, end=end, text=text, tokens=[], avg_logprob=-0.2,
                   compression_ratio=1.5, no_speech_prob=0.01, words=words, temperature=0.0)


class WindowedModel:
    """Stands in for WhisperModel.transcribe: yields windows lazily and counts the windows decoded."""

    def __init__(self, windows: list[list[tuple[float, float, str]]]) -> None:
        self.windows = windows
        self.decoded = 0

    def transcribe(self, audio: np.ndarray, **kwargs):  # type: ignore[no-untyped-def]
        def generate():  # type: ignore[no-untyped-def]
            for window in self.windows:
                self.decoded += 1
                for start, end, text in window:
                    yield _segment(start, end, text)

        info = TranscriptionInfo(language="ru", language_probability=1.0, duration=audio.shape[0] / RATE,
                                 duration_after_vad=audio.shape[0] / RATE, all_language_probs=None,
                                 transcription_options=None, vad_options=None)
        return generate(), info


def _run(model: WindowedModel, duration_s: float, speech: list[tuple[float, float]]):  # type: ignore[no-untyped-def]
    samples = np.zeros(int(duration_s * RATE), dtype=np.float32)
    runtime = Runtime(device="cpu", compute_type="int8", batched=False, batch_size=1, cpu_threads=1)
    return transcribe_channel(samples, model, runtime, AsrOptions(), vad_probs=_probs(duration_s, speech))


def test_speech_left_counts_vad_speech_after_a_time():
    left = _SpeechLeft(_probs(10.0, [(1.0, 3.0), (6.0, 6.5)]))
    assert abs(left.between(0.0, 10.0) - 2.5) < 0.1
    assert abs(left.between(3.0, 10.0) - 0.5) < 0.1
    assert left.between(6.6, 10.0) == 0.0
    assert left.between(12.0, 20.0) == 0.0  # past the end


def test_trailing_silence_window_is_not_decoded():
    # Speech 0.5-8.2 s then 1.6 s of silence (kept in Whisper's input: under 2 s). Whisper's first
    # window ends with a timestamp at 8.2 s; the second would decode the silence into a credit line.
    model = WindowedModel([[(0.5, 4.0, "Добрый день"), (4.2, 8.2, "компания Окна Плюс")],
                           [(8.3, 9.8, "Редактор субтитров А.Семкин Корректор А.Егорова")]])
    result = _run(model, 9.8, [(0.5, 8.2)])
    assert model.decoded == 1
    assert [s.text for s in result.segments] == ["Добрый день", "компания Окна Плюс"]


def test_windows_with_speech_left_are_all_decoded():
    model = WindowedModel([[(0.5, 4.0, "Добрый день")], [(4.5, 8.0, "компания Окна Плюс")]])
    result = _run(model, 9.0, [(0.5, 8.0)])
    assert model.decoded == 2
    assert len(result.segments) == 2
