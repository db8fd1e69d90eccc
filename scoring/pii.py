"""Personal data (152-FZ) in transcripts: phone, card and passport numbers, e-mail addresses.

Finds written forms ("+7 916 123-45-67", "ivan@mail.ru") and spoken ones as ASR writes them
("восемь девятьсот шестнадцать сто двадцать три сорок пять шестьдесят семь", "иван собака
мейл точка ру"). Spans never carry the personal data itself, only where it is and a masked preview.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from callqa.types import Segment, Transcript, Word

from .spans import char_span_times
from .text import TOKEN_RE, normalize, tokenize_spans

PII_KINDS: tuple[str, ...] = ("phone", "card", "passport", "email", "number")
MASKS: dict[str, str] = {
    "phone": "[ТЕЛЕФОН]", "card": "[КАРТА]", "passport": "[ПАСПОРТ]", "email": "[EMAIL]", "number": "[НОМЕР]",
}

_UNITS = {"ноль": 0, "нуль": 0, "один": 1, "одна": 1, "одно": 1, "два": 2, "две": 2, "три": 3, "четыре": 4,
          "пять": 5, "шесть": 6, "семь": 7, "восемь": 8, "девять": 9}
_TEENS = {"десять": 10, "одиннадцать": 11, "двенадцать": 12, "тринадцать": 13, "четырнадцать": 14,
          "пятнадцать": 15, "шестнадцать": 16, "семнадцать": 17, "восемнадцать": 18, "девятнадцать": 19}
_TENS = {"двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50, "шестьдесят": 60, "семьдесят": 70,
         "восемьдесят": 80, "девяносто": 90}
_HUNDREDS = {"сто": 100, "двести": 200, "триста": 300, "четыреста": 400, "пятьсот": 500, "шестьсот": 600,
             "семьсот": 700, "восемьсот": 800, "девятьсот": 900}
_NUMBER_WORDS = _UNITS | _TEENS | _TENS | _HUNDREDS
_CONNECTORS = frozenset({"номер", "плюс"})
_GAP_RE = re.compile(r"^[\s\-–—,.()+/:]*$")
_PASSPORT_CONTEXT = re.compile(r"паспорт|серия|серии")
_PHONE_CONTEXT = re.compile(r"телефон|номер|позвон|звоните|мобильн|whatsapp|ватсап|вотсап|телеграм")
_CONTEXT_CHARS = 60

_EMAIL_WRITTEN = re.compile(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)+")
_WORD = r"[a-zа-я0-9_]+"
_DOT = r"(?:\s*(?:\.|точка|дефис|-|нижнее подчеркивание|подчеркивание)\s*)"
_EMAIL_SPOKEN = re.compile(
    rf"\b{_WORD}(?:{_DOT}{_WORD}){{0,3}}\s*(?:собака|собачка|@|\bэт\b|\bat\b)\s*{_WORD}(?:{_DOT}{_WORD}){{0,3}}"
    rf"(?:\s*(?:\.|точка)\s*)(?:ру|ru|ком|com|рф|нет|net|орг|org|су|su|ио|io|бай|by|кз|kz|уа|ua)\b"
)


@dataclass(frozen=True)
class PiiSpan:
    """Personal data found in one segment (the data itself is not kept).

    Attributes:
        kind: "phone", "card", "passport", "email" or "number" (another long digit string).
        segment_index: index into ``transcript.segments``.
        char_start, char_end: span in that segment's ``text`` (end exclusive).
        start_s, end_s: time span from the word timings.
        form: "written" (digits/@) or "spoken" (number words / "собака").
        preview: a masked hint such as "***67" for people reviewing the masking.
    """

    kind: str
    segment_index: int
    char_start: int
    char_end: int
    start_s: float
    end_s: float
    form: str
    preview: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _groups(values: list[int]) -> str:
    """Digits of dictated number words: "девятьсот шестнадцать" -> "916", "сорок пять" -> "45"."""
    out: list[str] = []
    cur: int | None = None
    has_h = has_t = has_u = False
    for v in values:
        join = False
        if cur is not None and v < 100 and v != 0:
            if 20 <= v <= 90:
                join = has_h and not has_t and not has_u
            elif 10 <= v <= 19:
                join = has_h and not has_t and not has_u
            else:
                join = (has_h or (has_t and cur % 10 == 0 and cur % 100 >= 20)) and not has_u
        if join:
            cur += v  # type: ignore[operator]
            if 20 <= v <= 90:
                has_t = True
            elif 10 <= v <= 19:
                has_t = has_u = True
            else:
                has_u = True
        else:
            if cur is not None:
                out.append(str(cur))
            cur = v
            has_h, has_t, has_u = v >= 100, 10 <= v <= 90, v < 10 or 10 <= v <= 19
    if cur is not None:
        out.append(str(cur))
    return "".join(out)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _classify(digits: str, plus: bool, before: str) -> str | None:
    n = len(digits)
    if _PASSPORT_CONTEXT.search(before) and n == 10:
        return "passport"
    if n == 11 and digits[0] in "78":
        return "phone"
    if n == 10 and digits[0] in "3489" and not plus:
        return "phone"
    if plus and 10 <= n <= 13:
        return "phone"
    if n == 16 or (13 <= n <= 19 and _luhn_ok(digits)):
        return "card"
    if 5 <= n <= 7 and _PHONE_CONTEXT.search(before):
        return "phone"
    if n >= 9:
        return "number"
    return None


def _digit_runs(text: str) -> list[tuple[int, int, str, bool, bool]]:
    """Runs of dictated or written digits: (char_start, char_end, digits, has_plus, spoken)."""
    runs = []
    tokens = tokenize_spans(text)
    i = 0
    while i < len(tokens):
        token, start, end = tokens[i]
        if not (token.isdigit() or token in _NUMBER_WORDS or token == "плюс"):
            i += 1
            continue
        pieces: list[str] = []
        pending: list[int] = []
        plus = token == "плюс" or (start > 0 and text[start - 1] == "+")
        spoken = False
        run_start, run_end = start, end
        j = i
        while j < len(tokens):
            tok, s, e = tokens[j]
            if j > i and not _GAP_RE.match(text[tokens[j - 1][2]:s]):
                break
            if tok.isdigit():
                if pending:
                    pieces.append(_groups(pending))
                    pending = []
                pieces.append(tok)
            elif tok in _NUMBER_WORDS:
                pending.append(_NUMBER_WORDS[tok])
                spoken = True
            elif tok in _CONNECTORS and j > i:
                if tok == "плюс":
                    break
            elif tok == "плюс" and j == i:
                pass
            else:
                break
            if tok not in _CONNECTORS:
                run_end = e
            j += 1
        if pending:
            pieces.append(_groups(pending))
        digits = "".join(pieces)
        if digits:
            if run_start > 0 and text[run_start - 1] == "+":
                run_start -= 1
            runs.append((run_start, run_end, digits, plus, spoken))
        i = max(j, i + 1)
    return runs


def find_pii_in_text(text: str) -> list[tuple[str, int, int, str, str]]:
    """Personal data in a text: ``(kind, char_start, char_end, form, preview)``, sorted, non-overlapping."""
    lowered = normalize(text)
    found: list[tuple[str, int, int, str, str]] = []
    email_regexes = []
    if "@" in lowered:
        email_regexes.append((_EMAIL_WRITTEN, "written"))
    if "собак" in lowered or "собачк" in lowered or " эт " in lowered or " at " in lowered:
        email_regexes.append((_EMAIL_SPOKEN, "spoken"))
    for regex, form in email_regexes:
        for m in regex.finditer(lowered):
            if not any(a < m.end() and m.start() < b for _, a, b, _, _ in found):
                found.append(("email", m.start(), m.end(), form, "***@***"))
    for start, end, digits, plus, spoken in _digit_runs(lowered):
        if any(a < end and start < b for _, a, b, _, _ in found):
            continue
        kind = _classify(digits, plus, lowered[max(0, start - _CONTEXT_CHARS):start])
        if kind is not None:
            found.append((kind, start, end, "spoken" if spoken else "written", "***" + digits[-2:]))
    return sorted(found, key=lambda f: f[1])


CROSS_SEGMENT_GAP_S = 2.0


def _ends_with_number(lowered: str) -> bool:
    tail = TOKEN_RE.findall(lowered[-24:])
    return bool(tail) and (tail[-1].isdigit() or tail[-1] in _NUMBER_WORDS) \
        and _GAP_RE.match(lowered[lowered.rfind(tail[-1]) + len(tail[-1]):]) is not None


def _edge_runs(lowered: str) -> tuple[tuple[int, int, str, bool, bool] | None, tuple[int, int, str, bool, bool] | None]:
    """The digit runs that open and close a text (only separators before / after them)."""
    runs = _digit_runs(lowered)
    if not runs:
        return None, None
    head = runs[0] if _GAP_RE.match(lowered[:runs[0][0]]) else None
    tail = runs[-1] if _GAP_RE.match(lowered[runs[-1][1]:]) else None
    return head, tail


def find_pii(transcript: Transcript, segment_tokens: list[list[str]] | None = None) -> list[PiiSpan]:
    """Phone, card, passport numbers and e-mails in every segment of a transcript.

    A number dictated across two consecutive segments of one speaker (Whisper often splits a
    long dictation) is found too, as one span in each segment.

    Args:
        transcript: the call.
        segment_tokens: optional ``tokenize(segment.text)`` per segment (already computed by the
            caller; saves tokenising every segment again).

    Returns:
        Spans sorted by time; each has the char span in its segment's text and the time span
        of the words it covers.
    """
    if segment_tokens is not None and len(segment_tokens) != len(transcript.segments):
        raise ValueError(f"segment_tokens has {len(segment_tokens)} entries for {len(transcript.segments)} segments")
    spans: list[PiiSpan] = []

    def add(index: int, segment: Segment, kind: str, start: int, end: int, form: str, preview: str) -> None:
        start_s, end_s = char_span_times(segment, start, end)
        spans.append(PiiSpan(kind, index, start, end, round(start_s, 3), round(end_s, 3), form, preview))

    # speaker -> (segment index, its closing digit run if not already personal data)
    open_tails: dict[str | None, tuple[int, tuple[int, int, str, bool, bool]] | None] = {}
    for index, segment in enumerate(transcript.segments):
        speaker = segment.speaker or segment.role
        hint = _pii_hint(segment.text, None if segment_tokens is None else segment_tokens[index])
        if hint == 0:
            open_tails[speaker] = None
            continue
        lowered = normalize(segment.text)
        found = find_pii_in_text(segment.text) if hint >= 5 else []
        for kind, start, end, form, preview in found:
            add(index, segment, kind, start, end, form, preview)
        previous = open_tails.get(speaker)
        head = tail = None
        if previous is not None or _ends_with_number(lowered):  # a number may cross the boundary
            head, tail = _edge_runs(lowered)
        covered = [(a, b) for _, a, b, _, _ in found]
        if head is not None and previous is not None and not any(a < head[1] and head[0] < b for a, b in covered):
            prev_index, prev_tail = previous
            prev_segment = transcript.segments[prev_index]
            if 0 <= segment.start_s - prev_segment.end_s <= CROSS_SEGMENT_GAP_S:
                prev_lowered = normalize(prev_segment.text)
                before = prev_lowered[max(0, prev_tail[0] - _CONTEXT_CHARS):prev_tail[0]]
                digits = prev_tail[2] + head[2]
                kind = _classify(digits, prev_tail[3], before)
                if kind is not None and len(prev_tail[2]) < len(digits):
                    form = "spoken" if prev_tail[4] or head[4] else "written"
                    add(prev_index, prev_segment, kind, prev_tail[0], prev_tail[1], form, "***" + digits[-2:])
                    add(index, segment, kind, head[0], head[1], form, "***" + digits[-2:])
                    covered.append((head[0], head[1]))
                    if tail == head:
                        tail = None
        if tail is not None and not any(a < tail[1] and tail[0] < b for a, b in covered):
            open_tails[speaker] = (index, tail)
        else:
            open_tails[speaker] = None
    return sorted(spans, key=lambda s: (s.start_s, s.segment_index, s.char_start))


_WORD_DIGITS = {w: len(str(v)) for w, v in _NUMBER_WORDS.items()}


def _pii_hint(text: str, tokens: list[str] | None = None) -> int:
    """Cheap pre-check: 5 for an e-mail hint, else how many digits (written or spoken) the text holds
    at most. Under 5 no number is reported within the segment; over 0 it may continue in the next one."""
    if not text:
        return 0
    lowered = normalize(text)
    if "@" in lowered or "собак" in lowered or "собачк" in lowered or " эт " in lowered or " at " in lowered:
        return 5
    digits = sum(map(lowered.count, "0123456789"))
    if digits >= 5:
        return digits
    if tokens is None:
        tokens = TOKEN_RE.findall(lowered)
    return digits + sum(map(_WORD_DIGITS.get, tokens, [0] * len(tokens)))


def _mask_segment(segment: Segment, spans: list[PiiSpan], replacement: str | None) -> Segment:
    text = segment.text
    for span in sorted(spans, key=lambda s: s.char_start, reverse=True):
        text = text[:span.char_start] + (replacement or MASKS[span.kind]) + text[span.char_end:]
    words: list[Word] = []
    cursor = 0
    lowered = segment.text.lower()
    for word in segment.words:
        needle = word.text.strip().lower()
        at = lowered.find(needle, cursor) if needle else -1
        hit = None
        if at >= 0:
            cursor = at + len(needle)
            hit = next((s for s in spans if s.char_start < at + len(needle) and at < s.char_end), None)
        elif needle:
            # Word not found in the text: fall back to time overlap.
            hit = next((s for s in spans if s.start_s < word.end_s and word.start_s < s.end_s), None)
        if hit is not None:
            lead = word.text[: len(word.text) - len(word.text.lstrip())]
            word = replace(word, text=lead + (replacement or MASKS[hit.kind]))
        words.append(word)
    return replace(segment, text=text, words=tuple(words))


def mask_pii(transcript: Transcript, spans: list[PiiSpan] | None = None, *,
             replacement: str | None = None) -> Transcript:
    """A copy of the transcript with personal data replaced in segment texts and words.

    Args:
        transcript: the transcript to mask.
        spans: spans from :func:`find_pii` (found anew when None).
        replacement: one mask for every kind; by default a label per kind ("[ТЕЛЕФОН]", ...).
    """
    spans = find_pii(transcript) if spans is None else spans
    by_segment: dict[int, list[PiiSpan]] = {}
    for span in spans:
        if not 0 <= span.segment_index < len(transcript.segments):
            raise ValueError(f"span segment_index {span.segment_index} is outside the transcript "
                             f"({len(transcript.segments)} segments)")
        by_segment.setdefault(span.segment_index, []).append(span)
    segments = tuple(
        _mask_segment(s, by_segment[i], replacement) if i in by_segment else s
        for i, s in enumerate(transcript.segments)
    )
    return replace(transcript, segments=segments)
