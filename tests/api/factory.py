"""Build stored, scored calls through the storage layer (no ASR): hand-made analysis dicts."""

from __future__ import annotations

import uuid
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from callqa.ingest import sha256_file, store_file
from sqlalchemy.orm import Session

from callqa.settings import Settings
from callqa.storage import repo
from callqa.storage.models import Call
from callqa.types import CallMetadata, Segment, Transcript, Word

ITEMS: tuple[tuple[str, str, str, bool], ...] = (
    ("greeting", "greeting", "Поздоровался и назвал компанию", False),
    ("needs", "discovery", "Выявил потребность", False),
    ("offer", "presentation", "Сделал предложение", False),
    ("next_step", "closing", "Договорился о следующем шаге", True),
)

PII_LINE = "Записывайте мой телефон +7 912 345-67-89 и карта 4276 1234 5678 9012"


def write_wav(path: Path, *, duration_s: float = 2.0, sample_rate_hz: int = 16000, seed: int = 0) -> Path:
    """A short mono 16-bit WAV with a tone and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * sample_rate_hz)) / sample_rate_hz
    x = 0.3 * np.sin(2 * np.pi * (200 + 50 * seed) * t) + 0.01 * rng.standard_normal(t.size)
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate_hz)
        w.writeframes(pcm.tobytes())
    return path


def default_segments(manager: str) -> list[Segment]:
    lines = [
        (0.0, 4.0, "manager", f"Здравствуйте, компания Ромашка, меня зовут {manager}"),
        (4.5, 9.0, "client", "Добрый день, я хотел узнать про тариф"),
        (9.5, 15.0, "manager", "Расскажите, для чего вам нужен тариф и сколько сотрудников"),
        (15.5, 22.0, "client", PII_LINE),
        (22.5, 30.0, "manager", "Предлагаю тариф Бизнес, созвонимся в пятницу"),
    ]
    out = []
    for start, end, role, text in lines:
        words = text.split()
        step = (end - start) / len(words)
        out.append(Segment(
            start_s=start, end_s=end, text=text, speaker=role, role=role,  # type: ignore[arg-type]
            words=tuple(Word(start + i * step, start + (i + 1) * step, w, 0.9, role) for i, w in enumerate(words)),
        ))
    return out


def make_call(
    session: Session,
    settings: Settings | None = None,
    *,
    manager: str | None = "Иван",
    team: str | None = None,
    statuses: dict[str, str] | None = None,
    checklist_id: str = "sales",
    started_at: datetime | None = None,
    call_class: str | None = "lead",
    outcome: str | None = "next_step",
    callback_due_days: float | None = None,
    client_phone: str | None = "+79123456789",
    source_channel: str | None = "site",
    campaign: str | None = "spring",
    crm_deal_id: str | None = None,
    external_id: str | None = None,
    answered: bool | None = True,
    ring_s: float | None = 4.0,
    duration_s: float = 30.0,
    metrics: dict[str, Any] | None = None,
    gold: dict[str, Any] | None = None,
    segments: list[Segment] | None = None,
    with_audio: bool = False,
    state: str = "done",
) -> Call:
    """A call with transcript, one scorecard, metrics and class, stored like the pipeline stores them."""
    statuses = statuses or {}
    sha = uuid.uuid4().hex * 2
    rel = None
    size = 0
    if with_audio:
        assert settings is not None
        tmp = write_wav(settings.data_dir / f"tmp-{sha[:8]}.wav", duration_s=2.0)
        sha = sha256_file(tmp)
        rel = store_file(settings.audio_dir, tmp, sha)
        size = tmp.stat().st_size
        tmp.unlink()
    call = Call(sha256=sha, original_name=f"call-{sha[:6]}.wav", audio_path=rel, size_bytes=size, state=state,
                duration_s=duration_s, n_channels=1)
    repo.apply_metadata(session, call, CallMetadata(
        manager=manager, source_channel=source_channel, campaign=campaign, client_phone=client_phone,
        started_at=started_at or datetime.now(UTC) - timedelta(days=1), ring_s=ring_s, answered=answered,
        crm_deal_id=crm_deal_id, external_id=external_id, direction="inbound",
    ))
    if team is not None and call.manager is not None:
        call.manager.team = team
    session.add(call)
    session.flush()
    segs = segments if segments is not None else default_segments(manager or "Иван")
    repo.replace_transcript(session, call, Transcript(segments=tuple(segs), duration_s=duration_s,
                                                      roles={"manager": "manager", "client": "client"}))
    if state != "done":
        return call
    items = []
    for item_id, stage, title, critical in ITEMS:
        status = statuses.get(item_id, "passed")
        seg = {"greeting": 0, "needs": 2, "offer": 4, "next_step": 4}[item_id]
        s = segs[seg] if seg < len(segs) else None
        evidence = [{"quote": s.text, "start_s": s.start_s, "end_s": s.end_s, "speaker": s.speaker}] if s else []
        if item_id == "needs" and len(segs) > 3:
            evidence.append({"quote": segs[3].text, "start_s": segs[3].start_s, "end_s": segs[3].end_s,
                             "speaker": "client"})
        items.append({"item_id": item_id, "stage_id": stage, "title": title, "status": status, "weight": 1.0,
                      "critical": critical, "evidence": evidence})
    applicable = [i for i in items if i["status"] in ("passed", "failed")]
    total = 100.0 * sum(i["status"] == "passed" for i in applicable) / len(applicable) if applicable else 0.0
    critical_failures = [i["item_id"] for i in items if i["critical"] and i["status"] == "failed"]
    if critical_failures:
        total = min(total, 40.0)
    # the shape of callqa.scoring's Scorecard.to_dict()
    analysis = {
        "scorecards": [{"checklist_id": checklist_id, "checklist_version": "1", "total_score": round(total, 1),
                        "critical_failures": critical_failures, "critical_cap": 40.0,
                        "stages": [{"stage_id": st, "weight": 1.0} for st in {i["stage_id"] for i in items}],
                        "items": items, "primary": True}],
        "metrics": metrics if metrics is not None else {"manager_talk_share": 0.55, "manager_wpm": 130.0},
        "classification": None if call_class is None else {
            "call_class": call_class, "class_probs": {call_class: 0.9}, "outcome": outcome,
            "outcome_probs": {outcome: 0.8} if outcome else {}, "callback_due_days": callback_due_days,
            "callback_due_text": "в пятницу" if callback_due_days is not None else None,
        },
        "gold": gold,
    }
    repo.store_analysis(session, call, analysis)
    session.flush()
    return call
