"""Personal data in API output: phone, card and passport numbers (and e-mails) masked for roles that
must not see them.

The detector is the scoring stage's (``callqa.scoring.find_pii`` / ``mask_pii``), so text is masked the
same way everywhere, spoken numbers included; word texts inside a masked span are masked too.
"""

from __future__ import annotations

from typing import Any

from callqa.types import Segment, Transcript


def mask_transcript(transcript: Transcript) -> Transcript:
    """The transcript with personal data replaced in segment texts and words."""
    from callqa.scoring import mask_pii  # lazy: scoring pulls in heavier modules

    return mask_pii(transcript)


def mask_text(text: str) -> str:
    """Free text (a quote, a clip line) with personal data masked by the same detector."""
    if not text:
        return text
    masked = mask_transcript(Transcript(segments=(Segment(start_s=0.0, end_s=0.0, text=text),)))
    return masked.segments[0].text


def mask_phone(phone: str | None) -> str | None:
    from callqa.webhooks import mask_phone as _mask

    return _mask(phone)


def mask_transcript_dict(data: dict[str, Any]) -> dict[str, Any]:
    """Mask a ``Transcript.to_dict()`` result."""
    return mask_transcript(Transcript.from_dict(data)).to_dict()


def mask_evidence(evidence: list[Any]) -> list[Any]:
    out = []
    for ev in evidence or []:
        if isinstance(ev, dict):
            ev = dict(ev)
            for key in ("quote", "text"):
                if isinstance(ev.get(key), str):
                    ev[key] = mask_text(ev[key])
        out.append(ev)
    return out


def mask_call_dict(data: dict[str, Any]) -> dict[str, Any]:
    """Mask a ``report.call_dict`` result in place of the unmasked fields."""
    data = dict(data)
    meta = dict(data.get("metadata") or {})
    meta["client_phone"] = mask_phone(meta.get("client_phone"))
    data["metadata"] = meta
    if data.get("transcript"):
        data["transcript"] = mask_transcript_dict(data["transcript"])
    cards = []
    for card in data.get("scorecards") or []:
        card = dict(card)
        card["items"] = [dict(i, evidence=mask_evidence(i.get("evidence") or [])) for i in card.get("items", [])]
        detail = dict(card.get("detail") or {})
        if detail.get("items"):
            detail["items"] = [
                dict(i, evidence=mask_evidence(i.get("evidence") or [])) if isinstance(i, dict) else i
                for i in detail["items"]
            ]
        card["detail"] = detail
        cards.append(card)
    data["scorecards"] = cards
    data["pii_spans"] = []
    return data
