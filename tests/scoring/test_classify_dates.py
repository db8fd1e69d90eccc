"""Russian relative due expressions: finding them and resolving them against a call's start."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from callqa.scoring.dates import find_due_expression, find_due_expressions, parse_due, resolve_due

# Wednesday 25 November 2026, 11:00.
WED = datetime(2026, 11, 25, 11, 0)


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("перезвоню завтра", datetime(2026, 11, 26, 18, 0)),
        ("Перезвоню завтра утром.", datetime(2026, 11, 26, 12, 0)),
        ("в течение двух дней дам ответ", datetime(2026, 11, 27, 18, 0)),
        ("наберу в понедельник", datetime(2026, 11, 30, 18, 0)),
        ("до пятницы пришлю", datetime(2026, 11, 27, 18, 0)),
        ("через час перезвоню", datetime(2026, 11, 25, 12, 0)),
        ("через полчаса", datetime(2026, 11, 25, 11, 30)),
        ("через 15 минут", datetime(2026, 11, 25, 11, 15)),
        ("минут через двадцать", datetime(2026, 11, 25, 11, 20)),
        ("часа через два", datetime(2026, 11, 25, 13, 0)),
        ("через пару часов", datetime(2026, 11, 25, 13, 0)),
        ("послезавтра", datetime(2026, 11, 27, 18, 0)),
        ("сегодня вечером", datetime(2026, 11, 25, 21, 0)),
        ("до конца дня", datetime(2026, 11, 25, 18, 0)),
        ("в течение дня", datetime(2026, 11, 25, 18, 0)),
        ("через неделю", datetime(2026, 12, 2, 18, 0)),
        ("через три дня", datetime(2026, 11, 28, 18, 0)),
        ("до конца недели", datetime(2026, 11, 27, 18, 0)),
        ("на следующей неделе", datetime(2026, 12, 4, 18, 0)),
        ("в начале следующей недели", datetime(2026, 11, 30, 18, 0)),
        ("в среду после обеда", datetime(2026, 12, 2, 15, 0)),
        ("во вторник", datetime(2026, 12, 1, 18, 0)),
        ("в следующую пятницу", datetime(2026, 12, 4, 18, 0)),
        ("на выходных", datetime(2026, 11, 28, 18, 0)),
    ],
)
def test_resolves_common_expressions(text: str, due: datetime) -> None:
    assert resolve_due(text, WED) == due


def test_asr_noise_fillers_and_case_do_not_break_matching() -> None:
    expr = find_due_expression("ну я ВАМ перезвоню до конца ну недели короче")
    assert expr is not None and expr.text == "до конца недели"
    assert find_due_expression("перезвоню в начале э следующей недели").text == "в начале следующей недели"


def test_last_expression_wins_and_all_are_listed() -> None:
    text = "доставка в понедельник, а по счету я перезвоню завтра"
    found = find_due_expressions(text)
    assert [e.text for e in found] == ["в понедельник", "завтра"]
    assert find_due_expression(text).text == "завтра"


def test_no_expression() -> None:
    assert find_due_expression("перезвоню попозже") is None
    assert parse_due("спасибо, до свидания", WED) is None


def test_parse_due_returns_timedelta_and_keeps_timezone() -> None:
    assert parse_due("через час", WED) == timedelta(hours=1)
    tz = timezone(timedelta(hours=3))
    start = datetime(2026, 11, 25, 11, 0, tzinfo=tz)
    due = resolve_due("завтра", start)
    assert due is not None and due.tzinfo is tz


def test_weekday_same_as_today_means_next_week() -> None:
    assert resolve_due("в среду", WED) == datetime(2026, 12, 2, 18, 0)


def test_today_after_working_hours_is_not_in_the_past() -> None:
    late = datetime(2026, 11, 25, 20, 0)
    due = resolve_due("сегодня", late)
    assert due is not None and due > late


@pytest.mark.parametrize("start_day", range(7))
def test_invariants_due_is_after_start_for_every_weekday(start_day: int) -> None:
    start = datetime(2026, 11, 23, 9, 30) + timedelta(days=start_day)
    for text in ("завтра", "в понедельник", "до пятницы", "через час", "на следующей неделе", "до конца недели",
                 "в течение двух дней", "на выходных", "в следующий вторник"):
        due = resolve_due(text, start)
        assert due is not None and start < due <= start + timedelta(days=14), text


def test_bad_input_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        find_due_expressions(None)  # type: ignore[arg-type]
