"""Domain types shared by every stage: audio, call metadata, transcripts.

Small frozen dataclasses with units in their names. Times are seconds (float) everywhere,
sample rates are ``sample_rate_hz``. Stages exchange these, never ORM rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np

Role = Literal["manager", "client", "unknown"]
ROLES: tuple[str, ...] = ("manager", "client", "unknown")
Direction = Literal["inbound", "outbound", "unknown"]
DIRECTIONS: tuple[str, ...] = ("inbound", "outbound", "unknown")

CALL_STATES: tuple[str, ...] = ("received", "transcribing", "scoring", "done", "failed")
CALL_CLASSES: tuple[str, ...] = ("lead", "non_target", "spam", "upsell", "service")
OUTCOMES: tuple[str, ...] = ("sale", "next_step", "callback", "refusal", "none")

TARGET_SAMPLE_RATE_HZ = 16_000


@dataclass(frozen=True)
class DecodedAudio:
    """Audio decoded to float32 at 16 kHz.

    Attributes:
        samples: float32 array, shape (n_channels, n_samples), values in [-1, 1].
        sample_rate_hz: rate of ``samples`` (16 kHz after ingest).
        source_sample_rate_hz: rate of the original file.
        source_format: container/codec name as PyAV reports it.
    """

    samples: np.ndarray
    sample_rate_hz: int = TARGET_SAMPLE_RATE_HZ
    source_sample_rate_hz: int = TARGET_SAMPLE_RATE_HZ
    source_format: str = ""

    def __post_init__(self) -> None:
        if self.samples.ndim != 2:
            raise ValueError(f"samples must have shape (n_channels, n_samples), got {self.samples.shape}")

    @property
    def n_channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return float(self.samples.shape[1]) / float(self.sample_rate_hz)

    def mono(self) -> np.ndarray:
        """Mean of the channels, float32 shape (n_samples,)."""
        if self.n_channels == 1:
            return self.samples[0]
        return self.samples.mean(axis=0).astype(np.float32)


@dataclass(frozen=True)
class ChannelMap:
    """Which stereo channel carries which party (0-based channel indices)."""

    manager: int = 0
    client: int = 1

    def __post_init__(self) -> None:
        if {self.manager, self.client} != {0, 1}:
            raise ValueError(
                f"channel map must assign channels 0 and 1 to manager and client, got "
                f"manager={self.manager}, client={self.client}"
            )

    def role_of(self, channel: int) -> Role:
        return "manager" if channel == self.manager else "client"

    @classmethod
    def parse(cls, value: Any) -> ChannelMap:
        """Accept ``{"manager": 0, "client": 1}``, ``"left"``/``"right"`` (manager side) or ``"0"``/``"1"``."""
        if value is None or value == "":
            return cls()
        if isinstance(value, ChannelMap):
            return value
        if isinstance(value, dict):
            try:
                manager = int(value.get("manager", 1 - int(value.get("client", 1))))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"bad channel map {value!r}: channel indices must be 0 or 1") from exc
            return cls(manager=manager, client=1 - manager)
        text = str(value).strip().lower()
        if text in ("left", "l", "0", "manager_left"):
            return cls(manager=0, client=1)
        if text in ("right", "r", "1", "manager_right"):
            return cls(manager=1, client=0)
        raise ValueError(f"bad channel map {value!r}: use left, right, 0, 1 or {{'manager': 0, 'client': 1}}")


@dataclass(frozen=True)
class CallMetadata:
    """Optional facts about a call from a sidecar JSON, a CSV manifest, an upload or the PBX."""

    external_id: str | None = None
    manager: str | None = None
    direction: str = "unknown"
    source_channel: str | None = None
    campaign: str | None = None
    client_phone: str | None = None
    started_at: datetime | None = None
    ring_s: float | None = None
    answered: bool | None = None
    crm_deal_id: str | None = None
    channel_map: ChannelMap | None = None

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction {self.direction!r} is not one of: {', '.join(DIRECTIONS)}")
        if self.ring_s is not None and self.ring_s < 0:
            raise ValueError(f"ring_s must be >= 0, got {self.ring_s}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat() if self.started_at else None
        data["channel_map"] = (
            {"manager": self.channel_map.manager, "client": self.channel_map.client} if self.channel_map else None
        )
        return data


@dataclass(frozen=True)
class Word:
    start_s: float
    end_s: float
    text: str
    probability: float = 1.0
    speaker: str | None = None


@dataclass(frozen=True)
class Segment:
    """A stretch of speech by one speaker, with its words."""

    start_s: float
    end_s: float
    text: str
    speaker: str | None = None
    role: Role = "unknown"
    words: tuple[Word, ...] = ()
    confidence: float = 1.0  # mean word probability
    channel: int | None = None


@dataclass(frozen=True)
class Turn:
    """Who spoke when (diarization output): speaker label and time span."""

    start_s: float
    end_s: float
    speaker: str


@dataclass(frozen=True)
class Transcript:
    """Speaker-attributed transcript of one call.

    Attributes:
        segments: time-ordered segments (overlaps between speakers allowed).
        language: ISO code Whisper used or detected.
        duration_s: audio duration.
        roles: speaker label -> role.
        role_confidence: confidence of the manager/client assignment, 0..1.
        flags: e.g. ``no_speech`` (silence/music only), ``hallucination_removed``.
        turns: diarization turns (empty for stereo, where channels are speakers).
    """

    segments: tuple[Segment, ...]
    language: str = "ru"
    duration_s: float = 0.0
    roles: dict[str, str] = field(default_factory=dict)
    role_confidence: float = 0.0
    flags: tuple[str, ...] = ()
    turns: tuple[Turn, ...] = ()
    model: str = ""

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        segments = tuple(
            Segment(
                **{k: v for k, v in s.items() if k != "words"},
                words=tuple(Word(**w) for w in s.get("words", ())),
            )
            for s in data.get("segments", ())
        )
        return cls(
            segments=segments,
            language=data.get("language", "ru"),
            duration_s=float(data.get("duration_s", 0.0)),
            roles=dict(data.get("roles", {})),
            role_confidence=float(data.get("role_confidence", 0.0)),
            flags=tuple(data.get("flags", ())),
            turns=tuple(Turn(**t) for t in data.get("turns", ())),
            model=data.get("model", ""),
        )
