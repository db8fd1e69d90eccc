"""``transcribe_call``: decoded call audio -> speaker-attributed, word-timed ``Transcript``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from callqa.asr.diarize import diarize
from callqa.asr.models import load_whisper, resolve_model
from callqa.asr.options import AsrOptions, resolve_runtime
from callqa.asr.roles import assign_roles, check_channel_map
from callqa.asr.vad import refine_regions, speech_probabilities, speech_regions
from callqa.asr.whisper_asr import transcribe_channel

from callqa.types import ChannelMap, DecodedAudio, Segment, Transcript, Turn, Word

logger = logging.getLogger(__name__)

MIN_DURATION_S = 0.5
# VAD settings for who-spoke-when (more sensitive than Whisper's, short pauses bridged).
TURN_VAD: dict[str, float] = {"threshold": 0.35, "min_speech_s": 0.15, "min_silence_s": 0.5, "pad_s": 0.05}
_DUAL_MONO_CORRELATION = 0.995


def validate_audio(audio: DecodedAudio) -> None:
    """Raise ValueError for audio the stage cannot process."""
    if audio.sample_rate_hz != 16_000:
        raise ValueError(f"asr expects 16 kHz audio (decode with callqa.ingest), got {audio.sample_rate_hz} Hz")
    if audio.n_channels not in (1, 2):
        raise ValueError(f"asr handles mono or stereo calls, got {audio.n_channels} channels")
    if audio.duration_s < MIN_DURATION_S:
        raise ValueError(f"audio is {audio.duration_s:.3f} s long; at least {MIN_DURATION_S} s is needed")
    # Checked in 10-minute blocks: a whole-call boolean temporary is 115 MB per channel for 2 hours.
    block = 16_000 * 600
    bad = 0
    for channel in audio.samples:
        for first in range(0, channel.shape[0], block):
            part = channel[first:first + block]
            if not np.isfinite(part).all():
                bad += int((~np.isfinite(part)).sum())
    if bad:
        raise ValueError(f"audio contains {bad} NaN or infinite samples; re-decode the file")


def _join_words(words: Sequence[Word]) -> str:
    """Join word tokens, without a space before hyphen-joined parts and trailing punctuation."""
    text = ""
    for word in words:
        if text and not word.text.startswith(("-", ",", ".", "!", "?", ":", ";", ")")):
            text += " "
        text += word.text
    return text


def _split_by_speaker(segments: Sequence[Segment], turns: Sequence[Turn]) -> list[Segment]:
    """Attribute words to the turn they overlap most and cut segments where the speaker changes."""
    if not turns:
        return list(segments)
    starts = np.array([t.start_s for t in turns])
    ends = np.array([t.end_s for t in turns])
    labels = [t.speaker for t in turns]

    def speaker_at(start_s: float, end_s: float) -> str:
        overlap = np.minimum(ends, end_s) - np.maximum(starts, start_s)
        best = int(np.argmax(overlap))
        if overlap[best] > 0:
            return labels[best]
        mid = (start_s + end_s) / 2
        distance = np.minimum(np.abs(starts - mid), np.abs(ends - mid))
        return labels[int(np.argmin(distance))]

    out: list[Segment] = []
    for seg in segments:
        if not seg.words:
            out.append(Segment(seg.start_s, seg.end_s, seg.text, speaker_at(seg.start_s, seg.end_s),
                               words=(), confidence=seg.confidence, channel=seg.channel))
            continue
        runs: list[list[Word]] = []
        for word in seg.words:
            tagged = Word(word.start_s, word.end_s, word.text, word.probability, speaker_at(word.start_s, word.end_s))
            if runs and runs[-1][-1].speaker == tagged.speaker:
                runs[-1].append(tagged)
            else:
                runs.append([tagged])
        for run in runs:
            text = seg.text if len(runs) == 1 else _join_words(run)
            out.append(Segment(
                start_s=run[0].start_s, end_s=run[-1].end_s, text=text,
                speaker=run[0].speaker, words=tuple(run),
                confidence=float(np.mean([w.probability for w in run])), channel=seg.channel,
            ))
    return out


def channel_turns(samples: np.ndarray, probs: np.ndarray, speaker: str, duration_s: float) -> list[Turn]:
    """Turns of one stereo channel: its speech regions (VAD, energy-refined edges), labelled with its party."""
    regions = refine_regions(samples, speech_regions(probs, **TURN_VAD, duration_s=duration_s))
    return [Turn(round(r.start_s, 3), round(r.end_s, 3), speaker) for r in regions]


def stereo_turns(samples: np.ndarray, channel_map: ChannelMap | None = None) -> list[Turn]:
    """Who spoke when in a stereo call, shape (2, n_samples) at 16 kHz: per-channel VAD."""
    channel_map = channel_map or ChannelMap()
    duration_s = samples.shape[1] / 16_000
    turns = [t for ch in (0, 1) for t in channel_turns(samples[ch], speech_probabilities(samples[ch]),
                                                          channel_map.role_of(ch), duration_s)]
    return sorted(turns, key=lambda t: t.start_s)


def _with_roles(segments: Sequence[Segment], roles: dict[str, str]) -> tuple[Segment, ...]:
    return tuple(
        Segment(s.start_s, s.end_s, s.text, s.speaker, roles.get(s.speaker or "", "unknown"),  # type: ignore[arg-type]
                s.words, s.confidence, s.channel)
        for s in sorted(segments, key=lambda s: (s.start_s, s.end_s))
    )


def _flags(speech_s: float, removed: int, n_segments: int, extra: Sequence[str] = ()) -> tuple[str, ...]:
    flags = list(extra)
    if removed:
        flags.append("hallucination_removed")
    if n_segments == 0:
        flags.append("no_speech")
    return tuple(flags)


def transcribe_call(
    audio: DecodedAudio,
    options: AsrOptions,
    *,
    channel_map: ChannelMap | Any | None = None,
    hotwords: str | None = None,
    progress: Callable[[float], None] | None = None,
    direction: str = "unknown",
    company_names: Sequence[str] = (),
) -> Transcript:
    """Transcribe a call and attribute words to speakers.

    Stereo audio: one channel per party; ``channel_map`` (default manager=0, client=1) names them
    and both channels are transcribed onto one timeline (overlaps kept). Mono audio: diarized
    into ``S0``/``S1``... and roles assigned from text cues and ``direction``. Identical stereo
    channels are treated as mono.

    Args:
        audio: decoded 16 kHz audio, shape (n_channels, n_samples).
        options: model, device and decoding settings.
        channel_map: which stereo channel is the manager (ChannelMap, dict or "left"/"right").
        hotwords: company/product names to bias Whisper towards.
        progress: called with the fraction done, 0..1.
        direction: ``inbound``/``outbound``/``unknown``; helps the role guess on mono calls.
        company_names: names whose mention marks the manager.

    Returns:
        The transcript; silence- or music-only audio gives no segments and the ``no_speech`` flag.

    Raises:
        ValueError: audio shorter than 0.5 s, NaN samples, more than two channels, a bad channel map,
            or a model that cannot be found offline.
    """
    validate_audio(audio)
    if channel_map is not None and not isinstance(channel_map, ChannelMap):
        channel_map = ChannelMap.parse(channel_map)
    report = progress or (lambda _fraction: None)
    runtime = resolve_runtime(options)
    resolved = resolve_model(options.model, cache_dir=options.resolved_cache_dir,
                             local_files_only=options.local_files_only)
    model = load_whisper(resolved, runtime, options.resolved_cache_dir)
    model_name = f"{resolved.name} ({resolved.source}, {runtime.device}/{runtime.compute_type})"
    samples = audio.samples
    extra_flags: list[str] = []
    if audio.n_channels == 2:
        a, b = samples[0], samples[1]
        denom = float(np.linalg.norm(a) * np.linalg.norm(b))
        if denom == 0.0 and not (a.any() or b.any()):
            mono = a
        elif denom > 0 and float(np.dot(a, b)) / denom > _DUAL_MONO_CORRELATION:
            extra_flags.append("dual_mono")
            mono = a
        else:
            return _stereo(audio, options, runtime, model, model_name, channel_map or ChannelMap(), hotwords,
                           report, company_names, explicit_map=channel_map is not None)
    else:
        mono = samples[0]
    return _mono(mono, audio.duration_s, options, runtime, model, model_name, hotwords, report, direction,
                 company_names, extra_flags)


def _mono(samples: np.ndarray, duration_s: float, options: AsrOptions, runtime: Any, model: Any, model_name: str,
          hotwords: str | None, report: Callable[[float], None], direction: str, company_names: Sequence[str],
          extra_flags: list[str]) -> Transcript:
    probs = speech_probabilities(samples)
    report(0.05)
    result = transcribe_channel(samples, model, runtime, options, vad_probs=probs, hotwords=hotwords,
                                progress=lambda f: report(0.05 + 0.8 * f))
    turns: list[Turn] = []
    if result.segments:
        turns = diarize(samples, options.diarization, vad_probs=probs)
    report(0.95)
    segments = _split_by_speaker(result.segments, turns)
    speakers = [t.speaker for t in turns] or [s.speaker for s in segments if s.speaker]
    roles, confidence = assign_roles(segments, speakers, direction=direction, company_names=company_names)
    report(1.0)
    return Transcript(
        segments=_with_roles(segments, roles), language=result.language or (options.language or ""),
        duration_s=duration_s, roles=roles, role_confidence=confidence,
        flags=_flags(result.speech_s, result.removed, len(segments), extra_flags), turns=tuple(turns),
        model=model_name,
    )


def _stereo(audio: DecodedAudio, options: AsrOptions, runtime: Any, model: Any, model_name: str,
            channel_map: ChannelMap, hotwords: str | None, report: Callable[[float], None],
            company_names: Sequence[str], *, explicit_map: bool) -> Transcript:
    segments: list[Segment] = []
    turns: list[Turn] = []
    removed = 0
    speech_s = 0.0
    language = options.language or ""
    for channel in (0, 1):
        label = channel_map.role_of(channel)
        samples = audio.samples[channel]
        probs = speech_probabilities(samples)
        turns += channel_turns(samples, probs, label, audio.duration_s)
        result = transcribe_channel(samples, model, runtime, options, vad_probs=probs, hotwords=hotwords,
                                    channel=channel,
                                    progress=lambda f, c=channel: report(0.5 * c + 0.5 * f))
        language = result.language or language
        removed += result.removed
        speech_s += result.speech_s
        for seg in result.segments:
            words = tuple(Word(w.start_s, w.end_s, w.text, w.probability, label) for w in seg.words)
            segments.append(Segment(seg.start_s, seg.end_s, seg.text, label, words=words,
                                    confidence=seg.confidence, channel=channel))
    roles = {"manager": "manager", "client": "client"}
    confidence = check_channel_map(segments, company_names=company_names)
    flags = list(_flags(speech_s, removed, len(segments)))
    if confidence < 0.5:
        flags.append("channel_map_suspect")
        logger.warning("text cues suggest the channel map is swapped (confidence %.2f)", confidence)
    if not explicit_map:
        confidence = min(confidence, 0.8)
    report(1.0)
    return Transcript(
        segments=_with_roles(segments, roles), language=language, duration_s=audio.duration_s, roles=roles,
        role_confidence=confidence, flags=tuple(flags), turns=tuple(sorted(turns, key=lambda t: t.start_s)),
        model=model_name,
    )
