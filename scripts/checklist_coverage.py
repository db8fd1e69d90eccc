"""Checklist coverage on the demo calls: reference texts and (optionally) their ASR transcripts.

Scores every demo call (``demo/scripts/*.yaml``) against its primary checklist (chosen from the
call's expected class and direction, so a classifier mistake does not hide a checklist problem)
and prints the total, the items passed and the good-vs-bad separations:

    .venv/bin/python scripts/checklist_coverage.py                      # reference texts only
    .venv/bin/python scripts/checklist_coverage.py --db /tmp/copy.db    # + ASR transcripts from a DB

The reference transcript of a demo call is its ``turns`` with plausible timings (150 words/min,
0.4 s between turns). The ASR transcripts are read (read-only) from a callqa SQLite database
(tables ``calls`` and ``transcript_segments``), matched to demo calls by ``external_id`` or by the
recording's file name.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from callqa.scoring import CallContext, ScoringOptions, load_checklists
from callqa.scoring.analyze import score_checklist
from callqa.scoring.checklist import Checklist
from callqa.scoring.matcher import CallIndex
from callqa.scoring.metrics import segment_roles
from callqa.scoring.scorecard import Scorecard

from callqa.types import Segment, Transcript, Word

ROOT = Path(__file__).resolve().parents[1]
DEMO_SCRIPTS = ROOT / "demo" / "scripts"
DEFAULT_COMPANIES = "ТехПрокат,Окна Плюс,Дента Люкс,СмартЛид,Старт Бизнес"
WORDS_PER_S = 2.5
TURN_PAUSE_S = 0.4
# Pairs whose separation the report prints: (good call, bad call, item id or None for the total).
SEPARATIONS: tuple[tuple[str, str, str | None], ...] = (
    ("lead_rental_good", "lead_windows_bad", None),
    ("cold_saas_disclosure", "cold_dental_no_disclosure", "advertising_disclosure"),
)


@dataclass(frozen=True)
class DemoCall:
    """One demo call script: its id, metadata, expected class and reference turns."""

    call_id: str
    direction: str
    manager_name: str | None
    expected_class: str | None
    turns: tuple[tuple[str, str], ...]


def load_demo_calls(folder: Path = DEMO_SCRIPTS) -> list[DemoCall]:
    """Every ``*.yaml`` demo script in ``folder``, sorted by id."""
    calls = []
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        meta = data.get("metadata") or {}
        turns = tuple((str(t["role"]), str(t["text"])) for t in data.get("turns") or ())
        calls.append(DemoCall(
            call_id=str(data.get("id") or path.stem),
            direction=str(meta.get("direction") or "unknown"),
            manager_name=meta.get("manager"),
            expected_class=(data.get("expected") or {}).get("class"),
            turns=turns,
        ))
    return calls


def reference_transcript(call: DemoCall) -> Transcript:
    """The call's turns as a transcript with evenly timed words (150 words/min, 0.4 s pauses)."""
    segments = []
    t = 0.3
    for role, text in call.turns:
        pieces = text.split()
        step = 1.0 / WORDS_PER_S
        speaker = {"manager": "S0", "client": "S1"}.get(role, "S9")
        words = tuple(Word(round(t + i * step, 3), round(t + (i + 1) * step, 3), " " + piece, 0.95, speaker)
                      for i, piece in enumerate(pieces))
        end = t + len(pieces) * step
        segments.append(Segment(round(t, 3), round(end, 3), " " + text, speaker=speaker, role=role,  # type: ignore[arg-type]
                                words=words, confidence=0.95))
        t = end + TURN_PAUSE_S
    return Transcript(segments=tuple(segments), language="ru", duration_s=round(t, 3), role_confidence=0.95)


def asr_transcripts(db_path: Path) -> dict[str, Transcript]:
    """ASR transcripts from a callqa SQLite DB, keyed by demo call id (read-only connection)."""
    if not db_path.is_file():
        raise FileNotFoundError(f"no database file {db_path}")
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        calls = con.execute("select id, external_id, original_name, duration_s from calls").fetchall()
        out: dict[str, Transcript] = {}
        for call_pk, external_id, original_name, duration_s in calls:
            key = external_id or Path(original_name or str(call_pk)).stem
            rows = con.execute("select start_s, end_s, speaker, role, channel, text, confidence, words "
                               "from transcript_segments where call_id = ? order by idx", (call_pk,)).fetchall()
            segments = []
            for start_s, end_s, speaker, role, channel, text, confidence, words_json in rows:
                words = tuple(Word(float(w["start_s"]), float(w["end_s"]), str(w["text"]),
                                   float(w.get("probability", 1.0)), speaker)
                              for w in json.loads(words_json or "[]"))
                segments.append(Segment(float(start_s), float(end_s), text, speaker=speaker, role=role,
                                        words=words, confidence=float(confidence), channel=channel))
            end = max((s.end_s for s in segments), default=0.0)
            out[key] = Transcript(segments=tuple(segments), language="ru",
                                  duration_s=float(duration_s or end), role_confidence=0.9)
        return out
    finally:
        con.close()


def primary_checklist(call: DemoCall, checklists: list[Checklist]) -> Checklist | None:
    """The checklist a call of this direction and expected class is scored against (None: none)."""
    wanted = {("inbound", "lead"): "inbound_lead", ("outbound", "lead"): "outbound_cold"}.get(
        (call.direction, call.expected_class or ""))
    if wanted is None and call.expected_class in ("upsell", "service"):
        wanted = "upsell_service"
    return next((c for c in checklists if c.id == wanted), None)


def score_call(call: DemoCall, transcript: Transcript, checklist: Checklist,
               company_names: tuple[str, ...]) -> Scorecard:
    """Score one transcript against a checklist with the call's expected class."""
    context = CallContext(direction=call.direction if call.direction in ("inbound", "outbound") else "unknown",
                          company_names=company_names, manager_name=call.manager_name)
    roles = segment_roles(transcript)
    index = CallIndex(transcript, roles) if any(s.text.strip() for s in transcript.segments) else None
    present = {r for s, r in zip(transcript.segments, roles, strict=True) if s.text.strip()}
    return score_checklist(checklist, index, context=context, call_class=call.expected_class,
                           options=ScoringOptions(), roles_unknown=bool(present) and not present & {"manager", "client"},
                           one_speaker=len(present & {"manager", "client"}) == 1)


def score_all(transcripts: dict[str, Transcript], calls: list[DemoCall], checklists: list[Checklist],
              company_names: tuple[str, ...]) -> dict[str, Scorecard]:
    """Primary-checklist scorecards of the calls that have a transcript and a primary checklist."""
    cards = {}
    for call in calls:
        checklist = primary_checklist(call, checklists)
        if checklist is not None and call.call_id in transcripts:
            cards[call.call_id] = score_call(call, transcripts[call.call_id], checklist, company_names)
    return cards


def _report(title: str, calls: list[DemoCall], cards: dict[str, Scorecard], verbose: bool) -> None:
    print(f"\n== {title}")  # noqa: T201 - a report script
    for call in calls:
        card = cards.get(call.call_id)
        if card is None:
            print(f"{call.call_id:28s}  -     (class {call.expected_class}: no primary checklist or no transcript)")  # noqa: T201
            continue
        passed = [v.item_id for v in card.items if v.status == "passed"]
        failed = [v.item_id for v in card.items if v.status == "failed"]
        total = "-" if card.total_score is None else f"{card.total_score:5.1f}"
        cap = " (capped)" if card.capped else ""
        print(f"{call.call_id:28s} {total}{cap}  {card.checklist_id}: passed {len(passed)}/"  # noqa: T201
              f"{len(passed) + len(failed)}: {', '.join(passed)}")
        if verbose:
            for v in card.items:
                if v.status != "not_applicable":
                    quote = f" <- {v.evidence[0].matched!r}" if v.evidence and v.status == "passed" else ""
                    print(f"    {v.status:7s} {v.item_id:24s} {v.reason}{quote}")  # noqa: T201
    for good, bad, item_id in SEPARATIONS:
        if good not in cards or bad not in cards:
            continue
        if item_id is None:
            g, b = cards[good].total_score or 0.0, cards[bad].total_score or 0.0
            print(f"separation {good} vs {bad}: {g:.1f} vs {b:.1f} (gap {g - b:+.1f})")  # noqa: T201
        else:
            g_s, b_s = cards[good].item(item_id).status, cards[bad].item(item_id).status
            print(f"separation {good} vs {bad} on {item_id}: {g_s} vs {b_s}; totals "  # noqa: T201
                  f"{cards[good].total_score} vs {cards[bad].total_score}"
                  f"{' (capped)' if cards[bad].capped else ''}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, help="callqa SQLite DB with the demo calls' ASR transcripts (read-only)")
    parser.add_argument("--checklists", help="checklist folder (default: the packaged ones)")
    parser.add_argument("--verbose", "-v", action="store_true", help="every item's verdict and reason")
    args = parser.parse_args(argv)
    companies = tuple(c.strip() for c in os.environ.get("CALLQA_COMPANY_NAMES", DEFAULT_COMPANIES).split(",")
                      if c.strip())
    checklists = load_checklists(args.checklists)
    calls = load_demo_calls()
    reference = {c.call_id: reference_transcript(c) for c in calls}
    _report("reference texts", calls, score_all(reference, calls, checklists, companies), args.verbose)
    if args.db is not None:
        try:
            asr = asr_transcripts(args.db)
        except (FileNotFoundError, sqlite3.Error) as exc:
            print(f"cannot read {args.db}: {exc}", file=sys.stderr)  # noqa: T201
            return 2
        _report(f"ASR transcripts from {args.db}", calls, score_all(asr, calls, checklists, companies), args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
