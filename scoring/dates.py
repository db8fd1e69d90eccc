"""Russian relative due expressions ("перезвоню завтра", "в течение двух дней", "до пятницы").

Pure functions: find a due expression in text and resolve it against a reference datetime (the
call's start). No I/O, no global clock: the caller passes ``reference``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

__all__ = ["DueExpression", "find_due_expression", "find_due_expressions", "parse_due", "resolve_due"]

# Deadlines for day-precision expressions ("завтра" means "by the end of tomorrow's working day").
WORKDAY_END = time(18, 0)
PART_OF_DAY_END = {"morning": time(12, 0), "afternoon": time(15, 0), "evening": time(21, 0), "noon": time(13, 0)}

_NUMBERS: dict[str, float] = {
    "один": 1, "одного": 1, "одну": 1, "одна": 1, "одной": 1, "1": 1,
    "два": 2, "две": 2, "двух": 2, "2": 2,
    "три": 3, "трех": 3, "3": 3,
    "четыре": 4, "четырех": 4, "4": 4,
    "пять": 5, "пяти": 5, "5": 5,
    "шесть": 6, "шести": 6, "6": 6,
    "семь": 7, "семи": 7, "7": 7,
    "восемь": 8, "восьми": 8, "8": 8,
    "девять": 9, "девяти": 9, "9": 9,
    "десять": 10, "десяти": 10, "10": 10,
    "пятнадцать": 15, "пятнадцати": 15,
    "двадцать": 20, "двадцати": 20,
    "тридцать": 30, "тридцати": 30,
    "сорок": 40, "сорока": 40,
    "пару": 2, "пары": 2, "пара": 2,
    "полтора": 1.5, "полторы": 1.5, "полутора": 1.5,
    "несколько": 3, "нескольких": 3,
}
_NUM = r"(?P<num>\d{1,3}|" + "|".join(sorted((k for k in _NUMBERS if not k.isdigit()), key=len, reverse=True)) + r")"

_UNIT_SECONDS: list[tuple[str, float]] = [
    (r"минут\w*|мин", 60.0),
    (r"час\w*", 3600.0),
    (r"дн(?:я|ей|ь)|день|суток|сутки", 86400.0),
    (r"недел\w*", 7 * 86400.0),
    (r"месяц\w*", 30 * 86400.0),
]
_UNIT = r"(?P<unit>минут\w*|мин|час\w*|дн(?:я|ей|ь)|день|суток|сутки|недел\w*|месяц\w*)"

_WEEKDAYS: list[tuple[str, int]] = [
    (r"понедельник\w*", 0),
    (r"вторник\w*", 1),
    (r"сред[уыае]", 2),
    (r"четверг\w*", 3),
    (r"пятниц[уыае]", 4),
    (r"суббот[уыае]", 5),
    (r"воскресень[еяю]", 6),
]
_WEEKDAY = r"(?P<wd>понедельник\w*|вторник\w*|сред[уыае]|четверг\w*|пятниц[уыае]|суббот[уыае]|воскресень[еяю])"
_PART = r"(?:\s+(?P<part>утром|с утра|днем|в обед|до обеда|после обеда|вечером|к вечеру|ближе к вечеру))?"


@dataclass(frozen=True)
class DueExpression:
    """A due expression found in text.

    Attributes:
        text: the fragment as matched (normalised: lower case, ``ё`` -> ``е``).
        kind: ``offset`` (fixed duration), ``day`` (N calendar days ahead), ``weekday``,
            ``week_end``, ``next_week``.
        offset_s: for ``offset``: seconds after the reference time.
        days_ahead: for ``day``: calendar days after the reference date (0 = today).
        weekday: for ``weekday``: 0 = Monday ... 6 = Sunday.
        next_week: for ``weekday``: "в следующий вторник" (skip the current week).
        part_of_day: ``morning``/``noon``/``afternoon``/``evening`` or None (end of working day).
        start: character offset of the match in the normalised text.
    """

    text: str
    kind: str
    offset_s: float | None = None
    days_ahead: int | None = None
    weekday: int | None = None
    next_week: bool = False
    part_of_day: str | None = None
    start: int = 0

    def resolve(self, reference: datetime) -> datetime:
        """The due moment for a call that started at ``reference`` (same tzinfo as ``reference``)."""
        if self.kind == "offset":
            return reference + timedelta(seconds=float(self.offset_s or 0.0))
        if self.kind == "day":
            day = reference.date() + timedelta(days=int(self.days_ahead or 0))
            due = datetime.combine(day, self._deadline_time(), tzinfo=reference.tzinfo)
            # "сегодня" said after the working day ended still means "soon", not "in the past".
            return due if due > reference else reference + timedelta(hours=1)
        if self.kind == "weekday":
            assert self.weekday is not None
            ahead = (self.weekday - reference.weekday()) % 7 or 7
            if self.next_week and ahead <= 6 - reference.weekday():
                ahead += 7
            day = reference.date() + timedelta(days=ahead)
            return datetime.combine(day, self._deadline_time(), tzinfo=reference.tzinfo)
        if self.kind == "week_end":
            ahead = (4 - reference.weekday()) % 7
            day = reference.date() + timedelta(days=ahead)
            due = datetime.combine(day, WORKDAY_END, tzinfo=reference.tzinfo)
            return due if due > reference else due + timedelta(days=7)
        if self.kind == "next_week":
            # Deadline: Monday of next week when "в начале", otherwise Friday of next week.
            monday = reference.date() + timedelta(days=7 - reference.weekday())
            day = monday if self.weekday == 0 else monday + timedelta(days=4)
            return datetime.combine(day, WORKDAY_END, tzinfo=reference.tzinfo)
        raise ValueError(f"unknown due expression kind {self.kind!r}")

    def delta(self, reference: datetime) -> timedelta:
        """Time from ``reference`` to the due moment."""
        return self.resolve(reference) - reference

    @property
    def fixed_delta_s(self) -> float | None:
        """Seconds to the due moment when it does not depend on the calendar, else None."""
        return self.offset_s if self.kind == "offset" else None

    def _deadline_time(self) -> time:
        return PART_OF_DAY_END.get(self.part_of_day or "", WORKDAY_END)


def _part_of_day(raw: str | None) -> str | None:
    if not raw:
        return None
    if raw in ("утром", "с утра"):
        return "morning"
    if raw in ("в обед", "до обеда"):
        return "noon"
    if raw in ("днем", "после обеда"):
        return "afternoon"
    return "evening"


def _unit_seconds(unit: str) -> float:
    for pattern, seconds in _UNIT_SECONDS:
        if re.fullmatch(pattern, unit):
            return seconds
    raise ValueError(f"unknown time unit {unit!r}")


def _amount(num: str | None) -> float:
    if not num:
        return 1.0
    return float(num) if num.isdigit() else _NUMBERS[num]


def _offset(amount: float, unit: str, text: str, start: int) -> DueExpression:
    seconds = amount * _unit_seconds(unit)
    if seconds >= 86400.0 and seconds % 86400.0 == 0 and seconds < 7 * 86400.0 * 5:
        # "через два дня" / "в течение недели" are calendar days: due at the end of that day.
        return DueExpression(text=text, kind="day", days_ahead=int(seconds // 86400.0), start=start)
    return DueExpression(text=text, kind="offset", offset_s=seconds, start=start)


_B = r"(?<![\w-])"
_E = r"(?![\w-])"
# Order matters: longer, more specific patterns first; overlapping later matches are dropped.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("half_hour", re.compile(_B + r"(?:через|в течение)\s+(?:полчаса|пол часа|получаса)" + _E)),
    ("rev_offset", re.compile(_B + _UNIT + r"\s+через\s+" + _NUM + _E)),
    ("offset", re.compile(_B + r"(?:через|в течение|в течении|в пределах)\s+(?:" + _NUM + r"\s+)?" + _UNIT + _E)),
    ("day_after", re.compile(_B + r"послезавтра" + _PART + _E)),
    ("tomorrow", re.compile(_B + r"(?:завтра|завтрашний день)" + _PART + _E)),
    ("end_of_day", re.compile(_B + r"(?:до конца (?:дня|рабочего дня)|сегодня" + _PART + r")" + _E)),
    ("week_end", re.compile(_B + r"(?:до конца недели|в конце недели|к концу недели)" + _E)),
    ("next_week_start", re.compile(_B + r"(?:в начале (?:следующей|той|новой) недели)" + _E)),
    ("next_week", re.compile(_B + r"(?:на следующей неделе|на той неделе|на неделе)" + _E)),
    ("weekday", re.compile(_B + r"(?:в|во|до|к|ко|на)\s+(?P<next>следующ\w+\s+)?" + _WEEKDAY + _PART + _E)),
    ("today_part", re.compile(_B + r"(?:ближе к вечеру|к вечеру|вечером|после обеда)" + _E)),
    ("weekend", re.compile(_B + r"на выходных" + _E)),
    ("soon", re.compile(_B + r"на днях" + _E)),
]


# Every alternative of every pattern above contains one of these words or stems, so text without any
# of them has no due expression (checked before the patterns: most call turns name no deadline).
_ANY_CUE = ("через", "течени", "пределах", "завтра", "конц", "сегодня", "начале", "неделе", "понедельник", "вторник",
            "сред", "четверг", "пятниц", "суббот", "воскресень", "вечер", "обеда", "выходных", "днях")

# Hesitations ASR keeps ("до конца ну недели"): dropped before matching.
_FILLERS = re.compile(r"(?<![\w-])(?:э+|м+|ну|так|короче|типа|как бы|это самое|вот|значит|слушайте|ага)(?![\w-])")


def _normalise(text: str) -> str:
    text = text.lower().replace("ё", "е")
    text = re.sub(r"[^\w\s-]", " ", text)
    text = _FILLERS.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def _build(name: str, m: re.Match[str]) -> DueExpression | None:
    text, start = m.group(0), m.start()
    groups = m.groupdict()
    if name == "half_hour":
        return DueExpression(text=text, kind="offset", offset_s=1800.0, start=start)
    if name == "offset" and text.startswith("в течени") and not groups.get("num") and groups["unit"] in ("дня", "день"):
        return DueExpression(text=text, kind="day", days_ahead=0, start=start)  # "в течение дня": today
    if name in ("offset", "rev_offset"):
        return _offset(_amount(groups.get("num")), groups["unit"], text, start)
    if name == "day_after":
        return DueExpression(text=text, kind="day", days_ahead=2, part_of_day=_part_of_day(groups.get("part")), start=start)
    if name == "tomorrow":
        return DueExpression(text=text, kind="day", days_ahead=1, part_of_day=_part_of_day(groups.get("part")), start=start)
    if name == "end_of_day":
        return DueExpression(text=text, kind="day", days_ahead=0, part_of_day=_part_of_day(groups.get("part")), start=start)
    if name == "today_part":
        return DueExpression(text=text, kind="day", days_ahead=0, part_of_day=_part_of_day(text), start=start)
    if name == "week_end":
        return DueExpression(text=text, kind="week_end", start=start)
    if name == "next_week_start":
        return DueExpression(text=text, kind="next_week", weekday=0, start=start)
    if name == "next_week":
        return DueExpression(text=text, kind="next_week", weekday=4, start=start)
    if name == "weekday":
        wd = next(idx for pattern, idx in _WEEKDAYS if re.fullmatch(pattern, groups["wd"]))
        return DueExpression(
            text=text, kind="weekday", weekday=wd, next_week=bool(groups.get("next")),
            part_of_day=_part_of_day(groups.get("part")), start=start,
        )
    if name == "weekend":
        return DueExpression(text=text, kind="weekday", weekday=5, start=start)
    if name == "soon":
        return DueExpression(text=text, kind="day", days_ahead=3, start=start)
    return None


def find_due_expressions(text: str) -> list[DueExpression]:
    """All non-overlapping due expressions in ``text``, in order of appearance.

    Args:
        text: any Russian text (punctuation and case are ignored).

    Returns:
        Expressions with ``start`` offsets into the normalised text.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    low = text.lower().replace("ё", "е")
    if not any(cue in low for cue in _ANY_CUE):
        return []
    norm = _normalise(text)
    found: list[DueExpression] = []
    taken: list[tuple[int, int]] = []
    for name, pattern in _PATTERNS:
        for m in pattern.finditer(norm):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            expr = _build(name, m)
            if expr is not None:
                found.append(expr)
                taken.append((m.start(), m.end()))
    return sorted(found, key=lambda e: e.start)


def find_due_expression(text: str) -> DueExpression | None:
    """The last due expression in ``text`` (the final agreement usually wins), or None."""
    found = find_due_expressions(text)
    return found[-1] if found else None


def resolve_due(text: str, reference: datetime) -> datetime | None:
    """Due moment of the last expression in ``text`` relative to ``reference``, or None."""
    expr = find_due_expression(text)
    return expr.resolve(reference) if expr else None


def parse_due(text: str, reference: datetime) -> timedelta | None:
    """Time from ``reference`` until the due moment named in ``text``, or None when nothing is named.

    Examples (reference Wednesday 2026-11-25 11:00): "перезвоню завтра" -> due Thursday 18:00;
    "в течение двух дней" -> Friday 18:00; "через час" -> 12:00; "до пятницы" -> Friday 18:00;
    "в понедельник" -> next Monday 18:00.
    """
    expr = find_due_expression(text)
    return expr.delta(reference) if expr else None
