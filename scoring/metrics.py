"""Speech metrics per speaker (tempo, talk share, monologues, questions, interruptions, prosody)
and flags against configurable norms."""

from __future__ import annotations

import logging
import re
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from callqa.types import Segment, Transcript

from .prosody import HOP_S, frame_energy, rms_dbfs, yin_pitch
from .text import count_syllables, tokenize

logger = logging.getLogger(__name__)

SPEAKER_ROLES: tuple[str, ...] = ("manager", "client", "unknown")
INTERROGATIVES = frozenset(
    "как что чем чего чему какой какая какое какие каких каким какими какую каков сколько когда где "
    "почему зачем куда откуда кто кого кому кем чей чья чье чьи".split()
)
_LEAD_INS = frozenset("а и ну так вот скажите подскажите простите извините уточните".split())
_SENTENCE_RE = re.compile(r"[^.!?…]+[.!?…]*")


@dataclass(frozen=True)
class MetricNorms:
    """Norms the speech metrics are flagged against (a team can set its own, see ``from_team``).

    Attributes:
        manager_talk_share_max: manager share of talk time above which the manager
            "talks over the client" (0..1).
        manager_wpm_min, manager_wpm_max: manager tempo range, words per minute of talk time.
        manager_syllables_per_s_min, manager_syllables_per_s_max: the same in syllables per second.
        monologue_max_s: a turn longer than this is a long monologue.
        silence_min_s: a pause longer than this counts as a silence.
        silences_max: more silences than this is flagged.
        response_latency_max_s: median manager response latency above this is flagged.
        first_word_max_s: manager's first word later than this is flagged.
        manager_questions_min: fewer manager questions than this is flagged (calls over 60 s).
        interruptions_max: the manager cutting in on the client more often than this is flagged.
        overlap_min_s: overlap needed for a cut-in to count as an interruption.
        backchannel_max_s, backchannel_max_words: a short "угу/да" that does not end the other's turn.
        min_talk_s_for_tempo: tempo is not judged on less speech than this.
    """

    manager_talk_share_max: float = 0.65
    manager_wpm_min: float = 90.0
    manager_wpm_max: float = 180.0
    manager_syllables_per_s_min: float = 3.0
    manager_syllables_per_s_max: float = 6.5
    monologue_max_s: float = 60.0
    silence_min_s: float = 3.0
    silences_max: int = 2
    response_latency_max_s: float = 3.0
    first_word_max_s: float = 5.0
    manager_questions_min: int = 2
    interruptions_max: int = 2
    overlap_min_s: float = 0.3
    backchannel_max_s: float = 1.0
    backchannel_max_words: int = 2
    min_talk_s_for_tempo: float = 10.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value < 0:
                raise ValueError(f"{f.name} must be >= 0, got {value}")
        if not 0.0 < self.manager_talk_share_max <= 1.0:
            raise ValueError(f"manager_talk_share_max must be in (0, 1], got {self.manager_talk_share_max}")
        if self.manager_wpm_min > self.manager_wpm_max:
            raise ValueError("manager_wpm_min must not exceed manager_wpm_max")
        if self.manager_syllables_per_s_min > self.manager_syllables_per_s_max:
            raise ValueError("manager_syllables_per_s_min must not exceed manager_syllables_per_s_max")

    @classmethod
    def from_team(cls, team: Sequence[SpeechMetrics], *, spread: float = 1.5, base: MetricNorms | None = None
                  ) -> MetricNorms:
        """Norms from a team's calls: tempo and talk-share bounds at mean ± ``spread`` std.

        Args:
            team: metrics of the team's calls (at least 5 with manager speech).
            spread: how many standard deviations from the team mean count as normal.
            base: norms to start from (defaults for everything not derived).
        """
        base = base or cls()
        managers = [m.speaker("manager") for m in team]
        managers = [m for m in managers if m is not None and m.talk_time_s >= base.min_talk_s_for_tempo]
        if len(managers) < 5:
            raise ValueError(f"team norms need at least 5 calls with manager speech, got {len(managers)}")

        def bounds(values: list[float]) -> tuple[float, float]:
            mean, std = statistics.fmean(values), statistics.pstdev(values)
            return max(0.0, mean - spread * std), mean + spread * std

        wpm_lo, wpm_hi = bounds([m.words_per_minute for m in managers])
        syl_lo, syl_hi = bounds([m.syllables_per_s for m in managers])
        _, share_hi = bounds([m.talk_share for m in managers])
        values = asdict(base)
        values.update(
            manager_wpm_min=round(wpm_lo, 1), manager_wpm_max=round(wpm_hi, 1),
            manager_syllables_per_s_min=round(syl_lo, 2), manager_syllables_per_s_max=round(syl_hi, 2),
            manager_talk_share_max=round(min(1.0, max(share_hi, 0.05)), 3),
        )
        return cls(**values)


@dataclass(frozen=True)
class SpeakerMetrics:
    """Metrics of one party (role) in a call.

    Attributes:
        talk_time_s: union of the party's segments, seconds.
        talk_share: share of all talk time (0..1).
        words_per_minute: words per minute of the party's talk time.
        syllables_per_s: vowel letters per second of talk time.
        longest_monologue_s: longest turn (short back-channels of the other party do not end it).
        questions: questions asked (question mark, or interrogative word / "ли").
        interruptions_made: times the party cut in on the other with > overlap_min_s overlap.
        pitch_mean_hz, pitch_std_hz: pitch over voiced frames (None without audio).
        loudness_dbfs: RMS level of the party's speech (None without audio).
    """

    role: str
    talk_time_s: float
    talk_share: float
    words: int
    words_per_minute: float
    syllables_per_s: float
    turns: int
    longest_monologue_s: float
    questions: int
    interruptions_made: int
    pitch_mean_hz: float | None = None
    pitch_std_hz: float | None = None
    voiced_frames: int = 0
    loudness_dbfs: float | None = None


@dataclass(frozen=True)
class Interruption:
    """``by`` started speaking at ``at_s`` while ``of`` was still talking, for ``overlap_s``."""

    at_s: float
    by: str
    of: str
    overlap_s: float


@dataclass(frozen=True)
class Silence:
    """A pause in the conversation longer than the silence norm; ``after`` spoke last before it."""

    start_s: float
    end_s: float
    duration_s: float
    after: str


@dataclass(frozen=True)
class MetricFlag:
    """A metric outside its norm: ``code`` for machines, ``message`` for people."""

    code: str
    message: str
    value: float
    norm: float


@dataclass(frozen=True)
class SpeechMetrics:
    """Speech metrics of one call."""

    duration_s: float
    speakers: tuple[SpeakerMetrics, ...]
    silences: tuple[Silence, ...]
    longest_silence_s: float
    interruptions: tuple[Interruption, ...]
    manager_questions: int
    manager_response_latency_s: float | None
    manager_response_latency_max_s: float | None
    first_manager_word_s: float | None
    flags: tuple[MetricFlag, ...] = ()

    def speaker(self, role: str) -> SpeakerMetrics | None:
        for speaker in self.speakers:
            if speaker.role == role:
                return speaker
        return None

    @property
    def silence_count(self) -> int:
        return len(self.silences)

    @property
    def manager_talk_share(self) -> float | None:
        manager = self.speaker("manager")
        return manager.talk_share if manager else None

    def flag_codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.flags)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["silence_count"] = self.silence_count
        return data


# ---------------------------------------------------------------------------------------------


def segment_roles(transcript: Transcript) -> list[str]:
    """Role of each segment: its own role, else the transcript's speaker -> role map, else unknown."""
    out = []
    for segment in transcript.segments:
        role = segment.role
        if role not in ("manager", "client"):
            role = transcript.roles.get(segment.speaker or "", "unknown")
            if role not in ("manager", "client"):
                role = "unknown"
        out.append(role)
    return out


def _union_length(intervals: list[tuple[float, float]]) -> float:
    total, cur_start, cur_end = 0.0, None, None
    for start, end in sorted(intervals):
        if cur_end is None or start > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start  # type: ignore[operator]
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None:
        total += cur_end - cur_start  # type: ignore[operator]
    return total


def count_questions(text: str, tokens: Sequence[str] | None = None) -> int:
    """Questions in a text: sentences ending with '?' or opening with an interrogative word / using 'ли'.

    Args:
        text: the text (Whisper punctuation kept).
        tokens: its tokens when already known (a shortcut for texts without interrogatives).
    """
    if tokens is not None and "ли" not in tokens and INTERROGATIVES.isdisjoint(tokens):
        return text.count("?")
    count = 0
    for sentence in _SENTENCE_RE.findall(text):
        if sentence.rstrip().endswith("?"):
            count += 1
            continue
        tokens = tokenize(sentence[:80])
        while tokens and tokens[0] in _LEAD_INS:
            tokens = tokens[1:]
        if tokens and (tokens[0] in INTERROGATIVES or "ли" in tokens[1:4]):
            count += 1
    return count


def _is_backchannel(segment: Segment, norms: MetricNorms, n_words: int) -> bool:
    return (segment.end_s - segment.start_s) <= norms.backchannel_max_s and n_words <= norms.backchannel_max_words


def compute_metrics(
    transcript: Transcript,
    *,
    audio: np.ndarray | None = None,
    sample_rate_hz: int = 16000,
    norms: MetricNorms | None = None,
    roles: list[str] | None = None,
    segment_tokens: Sequence[list[str]] | None = None,
) -> SpeechMetrics:
    """Speech metrics of a call.

    Args:
        transcript: speaker-attributed transcript (roles "manager"/"client").
        audio: optional float array, shape (n_samples,) or (n_channels, n_samples), for pitch and
            loudness; for stereo, a segment's ``channel`` picks its channel.
        sample_rate_hz: rate of ``audio``.
        norms: norms for the flags (defaults: MetricNorms()).
        roles: precomputed segment roles (as from :func:`segment_roles`).
        segment_tokens: precomputed ``tokenize(segment.text)`` per segment, in transcript order
            (shared with :func:`callqa.scoring.pii.find_pii` by ``analyze_call``).

    Returns:
        SpeechMetrics with per-speaker figures and flags.
    """
    norms = norms or MetricNorms()
    roles = roles if roles is not None else segment_roles(transcript)
    order = sorted(range(len(transcript.segments)), key=lambda i: transcript.segments[i].start_s)
    segments = [transcript.segments[i] for i in order]
    seg_roles = [roles[i] for i in order]
    if segment_tokens is not None and len(segment_tokens) != len(transcript.segments):
        raise ValueError(f"segment_tokens has {len(segment_tokens)} entries for {len(transcript.segments)} segments")
    words_per_segment = [tokenize(s.text) for s in segments] if segment_tokens is None \
        else [segment_tokens[i] for i in order]
    duration_s = max([transcript.duration_s] + [s.end_s for s in segments])

    present = [r for r in SPEAKER_ROLES if any(sr == r and s.text.strip() for s, sr in zip(segments, seg_roles,
                                                                                           strict=True))]
    talk = {r: _union_length([(s.start_s, s.end_s) for s, sr in zip(segments, seg_roles, strict=True) if sr == r])
            for r in present}
    talk_total = sum(talk.values())

    # Turns: runs of one role; a short back-channel of the other party or a pause under the
    # silence norm does not end a turn.
    turns: list[list[Any]] = []  # [role, start_s, end_s]
    for segment, role, tokens in zip(segments, seg_roles, words_per_segment, strict=True):
        if not segment.text.strip():
            continue
        if turns and turns[-1][0] == role and segment.start_s - turns[-1][2] <= norms.silence_min_s:
            turns[-1][2] = max(turns[-1][2], segment.end_s)
        elif turns and turns[-1][0] != role and _is_backchannel(segment, norms, len(tokens)) \
                and segment.end_s <= turns[-1][2] + norms.silence_min_s:
            continue
        else:
            turns.append([role, segment.start_s, segment.end_s])

    # Interruptions: a segment starting inside the other party's segment with enough overlap.
    interruptions: list[Interruption] = []
    for j, (later, later_role, tokens) in enumerate(zip(segments, seg_roles, words_per_segment, strict=True)):
        if later_role == "unknown" or _is_backchannel(later, norms, len(tokens)):
            continue
        for i in range(j - 1, -1, -1):
            earlier, earlier_role = segments[i], seg_roles[i]
            if earlier_role in (later_role, "unknown") or earlier.start_s >= later.start_s:
                continue
            end_other = earlier.words[-1].end_s if earlier.words else earlier.end_s
            overlap = min(end_other, later.end_s) - later.start_s
            if overlap > norms.overlap_min_s:
                interruptions.append(Interruption(round(later.start_s, 3), later_role, earlier_role,
                                                  round(overlap, 3)))
                break
            if j - i > 8:
                break

    # Silences: gaps in the union of speech inside the conversation. Segments are the speech
    # spans; word timings split a segment only where it holds a pause longer than the norm.
    spans: list[tuple[float, float, str]] = []
    for segment, role in zip(segments, seg_roles, strict=True):
        words = segment.words
        if words:
            begin = words[0].start_s
            if words[-1].end_s - begin > norms.silence_min_s:
                prev_end = words[0].end_s
                gap = norms.silence_min_s
                for word in words[1:]:
                    if word.start_s - prev_end > gap:
                        spans.append((begin, prev_end, role))
                        begin = word.start_s
                    if word.end_s > prev_end:
                        prev_end = word.end_s
                spans.append((begin, prev_end, role))
            else:
                spans.append((begin, words[-1].end_s, role))
        elif segment.text.strip():
            spans.append((segment.start_s, segment.end_s, role))
    spans.sort()
    silences: list[Silence] = []
    reach, last_role = None, "unknown"
    for start, end, role in spans:
        if reach is not None and start - reach > norms.silence_min_s:
            silences.append(Silence(round(reach, 3), round(start, 3), round(start - reach, 3), last_role))
        if reach is None or end >= reach:
            reach, last_role = end, role

    # Manager response latency: client turn end -> next manager turn start.
    latencies = [max(0.0, b[1] - a[2]) for a, b in zip(turns, turns[1:], strict=False) if a[0] == "client" and b[0] == "manager"]
    manager_starts = [s.words[0].start_s if s.words else s.start_s
                      for s, r in zip(segments, seg_roles, strict=True) if r == "manager" and s.text.strip()]
    first_manager_word = min(manager_starts) if manager_starts else None

    prosody = _prosody(segments, seg_roles, present, audio, sample_rate_hz)

    speakers = []
    for role in present:
        role_tokens = [t for tokens, r in zip(words_per_segment, seg_roles, strict=True) if r == role for t in tokens]
        syllables = count_syllables(" ".join(role_tokens))
        seconds = talk[role]
        role_turns = [t for t in turns if t[0] == role]
        questions = sum(count_questions(s.text, tokens)
                        for s, r, tokens in zip(segments, seg_roles, words_per_segment, strict=True) if r == role)
        pitch_mean, pitch_std, voiced, loudness = prosody.get(role, (None, None, 0, None))
        speakers.append(SpeakerMetrics(
            role=role,
            talk_time_s=round(seconds, 3),
            talk_share=round(seconds / talk_total, 4) if talk_total > 0 else 0.0,
            words=len(role_tokens),
            words_per_minute=round(len(role_tokens) / seconds * 60.0, 1) if seconds > 0 else 0.0,
            syllables_per_s=round(syllables / seconds, 2) if seconds > 0 else 0.0,
            turns=len(role_turns),
            longest_monologue_s=round(max((t[2] - t[1] for t in role_turns), default=0.0), 3),
            questions=questions,
            interruptions_made=sum(1 for x in interruptions if x.by == role),
            pitch_mean_hz=pitch_mean,
            pitch_std_hz=pitch_std,
            voiced_frames=voiced,
            loudness_dbfs=loudness,
        ))
    manager = next((s for s in speakers if s.role == "manager"), None)
    metrics = SpeechMetrics(
        duration_s=round(duration_s, 3),
        speakers=tuple(speakers),
        silences=tuple(silences),
        longest_silence_s=max((s.duration_s for s in silences), default=0.0),
        interruptions=tuple(interruptions),
        manager_questions=manager.questions if manager else 0,
        manager_response_latency_s=round(statistics.median(latencies), 3) if latencies else None,
        manager_response_latency_max_s=round(max(latencies), 3) if latencies else None,
        first_manager_word_s=round(first_manager_word, 3) if first_manager_word is not None else None,
    )
    return _with_flags(metrics, norms)


def _prosody(segments: list[Segment], seg_roles: list[str], present: list[str], audio: np.ndarray | None,
             sample_rate_hz: int) -> dict[str, tuple[float | None, float | None, int, float | None]]:
    """Per role: pitch mean/std (Hz), voiced frame count and loudness (dBFS) from its own frames."""
    if audio is None:
        return {}
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[None, :]
    if samples.ndim != 2 or samples.shape[1] == 0:
        raise ValueError(f"audio must have shape (n_samples,) or (n_channels, n_samples), got {np.shape(audio)}")
    if sample_rate_hz < 8000:
        raise ValueError(f"sample_rate_hz must be >= 8000 for pitch analysis, got {sample_rate_hz}")
    n_channels = samples.shape[0]
    n_hops = samples.shape[1] // int(round(sample_rate_hz * HOP_S))
    mono = samples.mean(axis=0) if n_channels > 1 else samples[0]
    signals = {None: mono} | {c: samples[c] for c in range(n_channels)}
    energies: dict[int | None, np.ndarray] = {}
    masks: dict[tuple[str, int | None], np.ndarray] = {}
    for segment, role in zip(segments, seg_roles, strict=True):
        channel = segment.channel if segment.channel is not None and segment.channel < n_channels \
            and n_channels > 1 else None
        mask = masks.setdefault((role, channel), np.zeros(n_hops, dtype=bool))
        a, b = int(segment.start_s / HOP_S), int(np.ceil(segment.end_s / HOP_S))
        mask[max(a, 0):max(min(b, n_hops), 0)] = True
    # On a shared (mono) signal, frames where another role speaks too are left out.
    shared = [(key, m) for key, m in masks.items() if key[1] is None]
    out = {}
    for role in present:
        pitches, sq_sum, count = [], 0.0, 0
        for (mask_role, channel), mask in masks.items():
            if mask_role != role:
                continue
            own = mask.copy()
            if channel is None:
                for (other_role, _), other in shared:
                    if other_role != role:
                        own &= ~other
            if channel not in energies:
                energies[channel] = frame_energy(signals[channel], sample_rate_hz)
            energy = energies[channel][: len(own)]
            hops = np.flatnonzero(own[: len(energy)])
            if len(hops) == 0:
                continue
            loud = energy[hops]
            active = hops[loud > max(loud.max() * 10 ** (-35 / 10), 1e-10)]  # within 35 dB of the peak
            sq_sum += float(energy[active].sum())
            count += len(active)
            pitches.append(yin_pitch(signals[channel], sample_rate_hz, active))
        f0 = np.concatenate(pitches) if pitches else np.zeros(0)
        out[role] = (
            round(float(np.mean(f0)), 1) if len(f0) >= 10 else None,
            round(float(np.std(f0)), 1) if len(f0) >= 10 else None,
            int(len(f0)),
            round(rms_dbfs(sq_sum / count), 1) if count else None,
        )
    return out


def _with_flags(metrics: SpeechMetrics, norms: MetricNorms) -> SpeechMetrics:
    flags: list[MetricFlag] = []
    manager = metrics.speaker("manager")
    client = metrics.speaker("client")
    if manager is not None and client is not None and manager.talk_share > norms.manager_talk_share_max:
        flags.append(MetricFlag("talks_over_client", f"manager talks {manager.talk_share:.0%} of the time "
                                f"(norm ≤ {norms.manager_talk_share_max:.0%})", manager.talk_share,
                                norms.manager_talk_share_max))
    if manager is not None and manager.talk_time_s >= norms.min_talk_s_for_tempo:
        if manager.words_per_minute > norms.manager_wpm_max:
            flags.append(MetricFlag("tempo_too_fast", f"manager speaks {manager.words_per_minute:.0f} words/min "
                                    f"(norm ≤ {norms.manager_wpm_max:.0f})", manager.words_per_minute,
                                    norms.manager_wpm_max))
        elif manager.words_per_minute < norms.manager_wpm_min:
            flags.append(MetricFlag("tempo_too_slow", f"manager speaks {manager.words_per_minute:.0f} words/min "
                                    f"(norm ≥ {norms.manager_wpm_min:.0f})", manager.words_per_minute,
                                    norms.manager_wpm_min))
        if manager.syllables_per_s > norms.manager_syllables_per_s_max:
            flags.append(MetricFlag("syllable_rate_too_fast", f"manager speaks {manager.syllables_per_s:.1f} "
                                    f"syllables/s (norm ≤ {norms.manager_syllables_per_s_max:.1f})",
                                    manager.syllables_per_s, norms.manager_syllables_per_s_max))
        elif manager.syllables_per_s < norms.manager_syllables_per_s_min:
            flags.append(MetricFlag("syllable_rate_too_slow", f"manager speaks {manager.syllables_per_s:.1f} "
                                    f"syllables/s (norm ≥ {norms.manager_syllables_per_s_min:.1f})",
                                    manager.syllables_per_s, norms.manager_syllables_per_s_min))
    if manager is not None and manager.longest_monologue_s > norms.monologue_max_s:
        flags.append(MetricFlag("long_monologue", f"manager monologue of {manager.longest_monologue_s:.0f} s "
                                f"(norm ≤ {norms.monologue_max_s:.0f} s)", manager.longest_monologue_s,
                                norms.monologue_max_s))
    if len(metrics.silences) > norms.silences_max:
        flags.append(MetricFlag("long_silences", f"{len(metrics.silences)} silences over "
                                f"{norms.silence_min_s:g} s (norm ≤ {norms.silences_max})",
                                float(len(metrics.silences)), float(norms.silences_max)))
    latency = metrics.manager_response_latency_s
    if latency is not None and latency > norms.response_latency_max_s:
        flags.append(MetricFlag("slow_response", f"manager answers after {latency:.1f} s on median "
                                f"(norm ≤ {norms.response_latency_max_s:g} s)", latency, norms.response_latency_max_s))
    first = metrics.first_manager_word_s
    if first is not None and first > norms.first_word_max_s:
        flags.append(MetricFlag("late_first_word", f"manager's first word at {first:.1f} s "
                                f"(norm ≤ {norms.first_word_max_s:g} s)", first, norms.first_word_max_s))
    if manager is not None and client is not None and metrics.duration_s > 60 \
            and manager.questions < norms.manager_questions_min:
        flags.append(MetricFlag("few_questions", f"manager asked {manager.questions} question(s) "
                                f"(norm ≥ {norms.manager_questions_min})", float(manager.questions),
                                float(norms.manager_questions_min)))
    if manager is not None and manager.interruptions_made > norms.interruptions_max:
        flags.append(MetricFlag("interrupts_client", f"manager cut in on the client {manager.interruptions_made} "
                                f"times (norm ≤ {norms.interruptions_max})", float(manager.interruptions_made),
                                float(norms.interruptions_max)))
    return SpeechMetrics(**{**{f.name: getattr(metrics, f.name) for f in fields(metrics)}, "flags": tuple(flags)})


__all__ = [
    "Interruption", "MetricFlag", "MetricNorms", "Silence", "SpeakerMetrics", "SpeechMetrics",
    "compute_metrics", "count_questions", "segment_roles",
]
