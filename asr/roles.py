"""Which speaker is the manager: channel map, call direction and text cues, with a confidence."""

from __future__ import annotations

import math
from collections.abc import Sequence

from callqa.asr.hallucination import normalise_text

from callqa.types import Segment

MANAGER_CUES: tuple[tuple[str, float], ...] = (
    ("меня зовут", 2.0),
    ("чем могу помочь", 2.5),
    ("чем я могу вам помочь", 2.5),
    ("компания", 1.5),
    ("компании", 1.0),
    ("вас беспокоит", 2.0),
    ("вас приветствует", 2.0),
    ("отдел продаж", 2.0),
    ("менеджер", 1.0),
    ("удобно говорить", 1.5),
    ("могу предложить", 1.5),
    ("наш специалист", 1.0),
    ("оформить заявку", 1.0),
    ("добрый день", 0.7),
    ("здравствуйте", 0.5),
    ("слушаю вас", 1.5),
)
CLIENT_CUES: tuple[tuple[str, float], ...] = (
    ("алло", 0.7),
    ("хотел узнать", 1.5),
    ("хотела узнать", 1.5),
    ("сколько стоит", 1.5),
    ("у вас есть", 1.0),
    ("я вам звонил", 1.0),
    ("я оставлял заявку", 1.5),
    ("я оставляла заявку", 1.5),
)
_EARLY_S = 30.0


def cue_scores(segments: Sequence[Segment], company_names: Sequence[str] = ()) -> dict[str, float]:
    """Manager-minus-client cue score per speaker (cues in the first 30 s count double)."""
    scores: dict[str, float] = {}
    first_start = min((s.start_s for s in segments), default=0.0)
    names = [normalise_text(n) for n in company_names if normalise_text(n)]
    for seg in segments:
        if seg.speaker is None:
            continue
        text = f" {normalise_text(seg.text)} "
        weight = 2.0 if seg.start_s - first_start < _EARLY_S else 1.0
        score = sum(w for cue, w in MANAGER_CUES if f" {cue} " in text)
        score += sum(2.0 for name in names if f" {name} " in text)
        score -= sum(w for cue, w in CLIENT_CUES if f" {cue} " in text)
        scores[seg.speaker] = scores.get(seg.speaker, 0.0) + weight * score
    return scores


def assign_roles(segments: Sequence[Segment], speakers: Sequence[str], *, direction: str = "unknown",
                 company_names: Sequence[str] = ()) -> tuple[dict[str, str], float]:
    """Map diarization speakers to manager/client.

    The speaker with the highest cue score is the manager; without cues the call direction
    decides (inbound: the first speaker answers, so is the manager; outbound: the client answers).

    Returns:
        (speaker -> role, confidence in [0, 1]).
    """
    speakers = list(dict.fromkeys(speakers))
    if not speakers:
        return {}, 0.0
    if len(speakers) == 1:
        scores = cue_scores(segments, company_names)
        role = "manager" if scores.get(speakers[0], 0.0) > 0 else "unknown"
        return {speakers[0]: role}, 0.5 if role == "manager" else 0.0
    scores = cue_scores(segments, company_names)
    ranked = sorted(speakers, key=lambda s: scores.get(s, 0.0), reverse=True)
    margin = scores.get(ranked[0], 0.0) - scores.get(ranked[1], 0.0)
    order = [s.speaker for s in sorted(segments, key=lambda s: s.start_s) if s.speaker in speakers]
    first = order[0] if order else speakers[0]
    if margin > 0:
        manager = ranked[0]
        confidence = 0.5 + 0.5 * math.tanh(margin / 3.0)
    else:
        if direction == "outbound":
            manager = next((s for s in order if s != first), speakers[1])
        else:
            manager = first
        confidence = 0.6 if direction in ("inbound", "outbound") else 0.5
    # Direction agreeing with the text raises confidence a little.
    if margin > 0 and direction != "unknown":
        expected = first if direction == "inbound" else next((s for s in order if s != first), None)
        confidence = min(1.0, confidence + 0.1) if expected == manager else max(0.5, confidence - 0.1)
    roles = {s: ("manager" if s == manager else "client") for s in speakers}
    return roles, round(float(confidence), 3)


def check_channel_map(segments: Sequence[Segment], manager_label: str = "manager",
                      client_label: str = "client", company_names: Sequence[str] = ()) -> float:
    """Confidence that a stereo channel map is right: 1.0 unless text cues clearly say otherwise."""
    scores = cue_scores(segments, company_names)
    margin = scores.get(manager_label, 0.0) - scores.get(client_label, 0.0)
    if margin >= 0:
        return 1.0
    return round(max(0.1, 1.0 - 0.5 * (1.0 + math.tanh((-margin - 2.0) / 2.0))), 3)
