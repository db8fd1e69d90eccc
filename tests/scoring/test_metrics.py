"""Speech metrics: tempo, talk share, monologues, questions, interruptions, silences, prosody, flags."""

from __future__ import annotations

import numpy as np
import pytest
from callqa.scoring import MetricNorms, compute_metrics
from callqa.scoring.metrics import count_questions
from scoring_helpers import build_transcript

from callqa.types import Segment, Transcript

SR = 16000


def test_talk_time_tempo_and_share() -> None:
    # manager: 20 words (34 vowels) in 10 s; client: 5 words in 5 s
    manager_text = " ".join(["молоко"] * 20)  # 3 vowels each
    metrics = compute_metrics(build_transcript([
        ("manager", 0.0, 10.0, manager_text),
        ("client", 10.5, 15.5, "да да да да да"),
    ]))
    manager, client = metrics.speaker("manager"), metrics.speaker("client")
    assert manager.talk_time_s == pytest.approx(10.0)
    assert manager.words == 20 and manager.words_per_minute == pytest.approx(120.0)
    assert manager.syllables_per_s == pytest.approx(6.0)
    assert manager.talk_share == pytest.approx(10 / 15, abs=1e-3)
    assert client.words_per_minute == pytest.approx(60.0)
    assert manager.talk_share + client.talk_share == pytest.approx(1.0)
    assert metrics.first_manager_word_s == 0.0
    assert metrics.manager_response_latency_s is None  # the client never spoke before the manager
    assert "talks_over_client" in metrics.flag_codes()  # 67 % > 65 %


def test_questions_from_punctuation_and_interrogative_words() -> None:
    assert count_questions("Как к вам обращаться? Отлично.") == 1
    assert count_questions("Скажите, сколько у вас менеджеров. А когда удобно встретиться") == 2
    assert count_questions("Удобно ли вам говорить. Я думаю, что это подойдёт.") == 1
    assert count_questions("Что ж, хорошо? Что вы.") == 2
    assert count_questions("Мы знаем, что вам важно.") == 0
    metrics = compute_metrics(build_transcript([
        ("manager", 0.0, 3.0, "Добрый день! Как вас зовут? Откуда вы о нас узнали"),
        ("client", 3.2, 5.0, "Павел. А сколько стоит?"),
    ]))
    assert metrics.manager_questions == 2
    assert metrics.speaker("client").questions == 1


def test_interruptions_need_more_than_the_overlap_threshold() -> None:
    metrics = compute_metrics(build_transcript([
        ("manager", 0.0, 6.0, "раз два три четыре пять шесть семь восемь девять десять"),
        ("client", 5.0, 8.0, "подождите я хотел спросить"),  # 1.0 s over the manager: an interruption
        ("manager", 7.8, 10.0, "да конечно слушаю вас"),  # 0.2 s overlap: not counted
        ("client", 9.5, 9.9, "угу"),  # back-channel: not counted
    ]))
    assert len(metrics.interruptions) == 1
    cut = metrics.interruptions[0]
    assert (cut.by, cut.of, cut.at_s) == ("client", "manager", 5.0)
    assert cut.overlap_s == pytest.approx(1.0)
    assert metrics.speaker("client").interruptions_made == 1
    assert metrics.speaker("manager").interruptions_made == 0


def test_silences_latency_first_word_and_monologue() -> None:
    metrics = compute_metrics(build_transcript([
        ("client", 0.0, 2.0, "алло алло"),
        ("manager", 7.0, 9.0, "да слушаю вас"),  # 5 s silence, manager answers after 5 s
        ("client", 9.5, 11.0, "хочу узнать цену"),
        ("manager", 11.5, 50.0, "рассказываю " * 60),
        ("client", 50.2, 50.6, "угу"),  # back-channel does not end the monologue
        ("manager", 50.8, 80.0, "продолжаю " * 40),
        ("client", 84.0, 85.0, "понятно"),  # 4 s silence
    ], duration_s=90.0))
    assert [round(s.duration_s, 1) for s in metrics.silences] == [5.0, 4.0]
    assert metrics.silences[0].after == "client"
    assert metrics.longest_silence_s == pytest.approx(5.0)
    assert metrics.first_manager_word_s == 7.0
    assert metrics.manager_response_latency_s == pytest.approx(2.75)  # median of 5.0 and 0.5
    assert metrics.manager_response_latency_max_s == pytest.approx(5.0)
    manager = metrics.speaker("manager")
    assert manager.longest_monologue_s == pytest.approx(80.0 - 11.5)
    codes = metrics.flag_codes()
    assert "long_monologue" in codes and "late_first_word" in codes
    norms = MetricNorms(silences_max=1, monologue_max_s=100, first_word_max_s=10)
    codes = compute_metrics(build_transcript([
        ("client", 0.0, 2.0, "алло алло"), ("manager", 7.0, 9.0, "да слушаю вас"),
        ("client", 13.0, 14.0, "да"), ("manager", 18.0, 19.0, "хорошо"),
    ]), norms=norms).flag_codes()
    assert codes == ("long_silences", "slow_response")


def test_tempo_flags_and_team_norms() -> None:
    fast = compute_metrics(build_transcript([
        ("manager", 0.0, 20.0, " ".join(["быстро"] * 80)),  # 240 words/min
        ("client", 20.5, 40.0, " ".join(["да"] * 30)),
    ]))
    assert "tempo_too_fast" in fast.flag_codes()
    slow = compute_metrics(build_transcript([("manager", 0.0, 20.0, " ".join(["медленно"] * 20))]))
    assert "tempo_too_slow" in slow.flag_codes()
    team = [compute_metrics(build_transcript([
        ("manager", 0.0, 30.0, " ".join(["слово"] * n)), ("client", 30.5, 50.0, "да " * 20),
    ])) for n in (60, 65, 70, 75, 80)]
    norms = MetricNorms.from_team(team)
    assert 110 < norms.manager_wpm_min < 130 < norms.manager_wpm_max < 175
    with pytest.raises(ValueError, match="at least 5"):
        MetricNorms.from_team(team[:2])
    with pytest.raises(ValueError, match="manager_talk_share_max"):
        MetricNorms(manager_talk_share_max=1.5)


def _voice(f0_hz: float, seconds: float, amplitude: float = 0.3, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    vibrato = 1 + 0.01 * np.sin(2 * np.pi * 5 * t)
    phase = 2 * np.pi * f0_hz * np.cumsum(vibrato) / SR
    wave = sum(np.sin(k * phase) / k for k in range(1, 6))
    noise = np.random.default_rng(seed).normal(0, 0.003, len(t))
    return (amplitude * wave / 1.5 + noise).astype(np.float32)


def test_pitch_and_loudness_per_speaker_from_mono_audio() -> None:
    audio = np.concatenate([_voice(120, 3.0, 0.3), np.zeros(SR // 2, np.float32), _voice(220, 3.0, 0.1, 1)])
    transcript = build_transcript([("manager", 0.0, 3.0, "раз два три"), ("client", 3.5, 6.5, "четыре пять")])
    metrics = compute_metrics(transcript, audio=audio, sample_rate_hz=SR)
    manager, client = metrics.speaker("manager"), metrics.speaker("client")
    assert manager.pitch_mean_hz == pytest.approx(120, rel=0.03)
    assert client.pitch_mean_hz == pytest.approx(220, rel=0.03)
    assert 0 < manager.pitch_std_hz < 10 and manager.voiced_frames > 200
    assert manager.loudness_dbfs - client.loudness_dbfs == pytest.approx(20 * np.log10(3), abs=1.0)
    assert -30 < manager.loudness_dbfs < -5


def test_stereo_channels_and_unvoiced_noise() -> None:
    n = 3 * SR
    left = _voice(150, 3.0, 0.3)
    right = np.random.default_rng(3).normal(0, 0.05, n).astype(np.float32)  # noise: no pitch
    transcript = Transcript(segments=(
        Segment(0.0, 3.0, "раз два три", role="manager", channel=0),
        Segment(0.0, 3.0, "четыре пять", role="client", channel=1),
    ), duration_s=3.0)
    metrics = compute_metrics(transcript, audio=np.stack([left, right]), sample_rate_hz=SR)
    assert metrics.speaker("manager").pitch_mean_hz == pytest.approx(150, rel=0.03)
    assert metrics.speaker("client").pitch_mean_hz is None
    assert metrics.speaker("client").loudness_dbfs == pytest.approx(20 * np.log10(0.05), abs=0.5)


def test_empty_transcript_metrics() -> None:
    metrics = compute_metrics(Transcript(segments=(), duration_s=5.0), audio=np.zeros(5 * SR, np.float32))
    assert metrics.speakers == () and metrics.flags == () and metrics.first_manager_word_s is None
    assert metrics.to_dict()["silence_count"] == 0


@pytest.mark.shared_data
def test_real_phone_call_metrics(shared_data) -> None:
    from scipy.io import wavfile

    folder = shared_data / "pyannote-sample-call"
    rate, samples = wavfile.read(folder / "sample.wav")
    audio = samples.astype(np.float32) / 32768.0
    lines = []
    for row in (folder / "sample.stm").read_text().splitlines():
        _, _, who, start, end, *text = row.split()
        lines.append(("manager" if who == "Diane" else "client", float(start), float(end), " ".join(text)))
    metrics = compute_metrics(build_transcript(lines, duration_s=30.0), audio=audio, sample_rate_hz=rate)
    manager, client = metrics.speaker("manager"), metrics.speaker("client")
    assert metrics.manager_questions == 1  # "Hello?"
    assert client.questions == 2  # "Hello?", "... so what can I say?"
    assert manager.talk_share + client.talk_share == pytest.approx(1.0)
    for speaker in (manager, client):
        assert speaker.voiced_frames > 100
        assert 120 < speaker.pitch_mean_hz < 350  # two adult female voices
        assert -45 < speaker.loudness_dbfs < -5
        assert 100 < speaker.words_per_minute < 330  # STM spans are tight around fast speech
    assert metrics.first_manager_word_s == pytest.approx(6.68, abs=0.01)
