"""Transcript exports: JSON, SRT, WebVTT, and RTTM for diarization."""

from __future__ import annotations

import json

from callqa.types import Transcript


def _clock(seconds: float, sep: str) -> str:
    millis = int(round(max(0.0, seconds) * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def _label(speaker: str | None, role: str) -> str:
    if role and role != "unknown":
        return role
    return speaker or ""


def to_json(transcript: Transcript, *, indent: int | None = 2) -> str:
    """The full transcript (segments, words, turns, roles, flags) as JSON."""
    return json.dumps(transcript.to_dict(), ensure_ascii=False, indent=indent)


def to_srt(transcript: Transcript) -> str:
    """SubRip subtitles, one cue per segment, prefixed by the speaker role."""
    lines = []
    for i, seg in enumerate(transcript.segments, start=1):
        label = _label(seg.speaker, seg.role)
        text = f"[{label}] {seg.text.strip()}" if label else seg.text.strip()
        lines += [str(i), f"{_clock(seg.start_s, ',')} --> {_clock(seg.end_s, ',')}", text, ""]
    return "\n".join(lines)


def to_vtt(transcript: Transcript) -> str:
    """WebVTT captions with voice tags."""
    lines = ["WEBVTT", ""]
    for seg in transcript.segments:
        label = _label(seg.speaker, seg.role)
        text = f"<v {label}>{seg.text.strip()}" if label else seg.text.strip()
        lines += [f"{_clock(seg.start_s, '.')} --> {_clock(seg.end_s, '.')}", text, ""]
    return "\n".join(lines)


def to_rttm(transcript: Transcript, *, file_id: str = "call") -> str:
    """NIST RTTM speaker turns (diarization turns, or segments when there are none)."""
    spans = [(t.start_s, t.end_s, t.speaker) for t in transcript.turns] or [
        (s.start_s, s.end_s, s.speaker or "unknown") for s in transcript.segments
    ]
    rows = [
        f"SPEAKER {file_id} 1 {start:.3f} {max(0.0, end - start):.3f} <NA> <NA> {speaker} <NA> <NA>"
        for start, end, speaker in sorted(spans)
    ]
    return "\n".join(rows) + ("\n" if rows else "")
