"""Checklist coverage of natural speech: demo reference calls, questions on topics, ASR variants.

The demo calls are scored from their reference texts (demo/scripts/*.yaml turned into transcripts by
scripts/checklist_coverage.py), so no ASR is needed.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from callqa.scoring import (
    CallContext,
    ChecklistError,
    ScoringOptions,
    analyze_call,
    load_checklist,
    parse_checklist,
)
from callqa.scoring.matcher import CallIndex
from callqa.scoring.metrics import segment_roles
from callqa.scoring.scorecard import Scorecard
from scoring_helpers import build_transcript

ROOT = Path(__file__).resolve().parents[2]
COMPANIES = ("ТехПрокат", "Окна Плюс", "Дента Люкс", "СмартЛид", "Старт Бизнес")
OPTIONS = ScoringOptions(use_default_classifier=False, find_pii=False)


def _coverage_module() -> ModuleType:
    path = ROOT / "scripts" / "checklist_coverage.py"
    spec = importlib.util.spec_from_file_location("checklist_coverage", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["checklist_coverage"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo_cards() -> dict[str, Scorecard]:
    coverage = _coverage_module()
    calls = coverage.load_demo_calls()
    checklists = [load_checklist(name) for name in ("inbound_lead", "outbound_cold", "upsell_service")]
    reference = {c.call_id: coverage.reference_transcript(c) for c in calls}
    return coverage.score_all(reference, calls, checklists, COMPANIES)


def _statuses(card: Scorecard) -> dict[str, str]:
    return {v.item_id: v.status for v in card.items}


def test_good_lead_reference_passes_the_script(demo_cards: dict[str, Scorecard]) -> None:
    card = demo_cards["lead_rental_good"]
    status = _statuses(card)
    must_pass = ["greeting", "own_name", "company_named", "client_name", "situation_question", "problem_question",
                 "call_to_action", "objection_handled", "next_step_agreed", "next_step_date", "next_step_time",
                 "next_step_channel", "written_confirmation"]
    assert {i: status[i] for i in must_pass} == dict.fromkeys(must_pass, "passed")
    assert card.total_score is not None and card.total_score >= 85 and not card.capped
    for verdict in card.items:  # every verdict says why; every pass shows where
        assert verdict.reason
        if verdict.status == "passed" and verdict.item_id not in ("no_rudeness", "no_pressure"):
            assert verdict.evidence and verdict.evidence[0].quote and verdict.evidence[0].role == "manager"
    situation = card.item("situation_question").evidence[0]
    assert situation.method == "question" and "какие работы планируете" in situation.matched
    assert card.item("problem_question").evidence[0].method == "question"


def test_bad_lead_reference_fails_most_items(demo_cards: dict[str, Scorecard]) -> None:
    card = demo_cards["lead_windows_bad"]
    status = _statuses(card)
    failed = [i for i, s in status.items() if s == "failed"]
    assert len(failed) >= 14, status
    for item in ("greeting", "own_name", "company_named", "client_name", "situation_question", "problem_question",
                 "call_to_action", "next_step_agreed", "next_step_date", "written_confirmation"):
        assert status[item] == "failed", item
    assert card.total_score is not None and card.total_score < 25
    good = demo_cards["lead_rental_good"].total_score
    assert good is not None and good - card.total_score >= 50


def test_advertising_disclosure_separates_the_cold_calls(demo_cards: dict[str, Scorecard]) -> None:
    disclosed, silent = demo_cards["cold_saas_disclosure"], demo_cards["cold_dental_no_disclosure"]
    assert disclosed.item("advertising_disclosure").status == "passed"
    assert disclosed.item("advertising_disclosure").evidence[0].start_s < 40
    assert not disclosed.capped
    assert silent.item("advertising_disclosure").status == "failed"
    assert "advertising_disclosure" in silent.critical_failures and silent.capped and silent.total_score == 40.0
    assert silent.raw_score is not None and silent.raw_score > 40  # the cap, not the rest, sets the total


def test_service_and_upsell_references_score_well(demo_cards: dict[str, Scorecard]) -> None:
    for call_id in ("service_windows", "upsell_saas_client"):
        card = demo_cards[call_id]
        assert card.checklist_id == "upsell_service"
        assert card.total_score is not None and card.total_score >= 70, (call_id, _statuses(card))
        assert card.item("next_step_agreed").status == "passed"


def _questions(lines: list[tuple[str, float, float, str]]) -> list[str]:
    transcript = build_transcript(lines)
    index = CallIndex(transcript, segment_roles(transcript))
    stream = index.sentences("manager")
    assert stream.question_start is not None
    spans: dict[int, list[str]] = {}
    for pos, start in enumerate(stream.question_start):
        if start >= 0:
            spans.setdefault(start, []).append(stream.surface[pos])
    return [" ".join(words) for words in spans.values()]


def test_questions_from_punctuation_and_interrogative_openings() -> None:
    lines = [
        ("manager", 0.0, 3.0, "Сожалею, что так вышло."),                      # conjunction, not a question
        ("manager", 3.0, 6.0, "Дмитрий, какие работы планируете и где участок."),  # no '?' from the ASR
        ("manager", 6.0, 8.0, "Как раз для этого наша система."),
        ("manager", 8.0, 10.0, "Так что записываем, есть время в субботу."),
        ("manager", 10.0, 11.5, "Удобно ли вам говорить"),  # no punctuation: the pause ends it
        ("manager", 13.2, 14.0, "Подскажите ваше имя."),
        ("manager", 14.0, 16.0, "Суббота подойдет?"),
        ("client", 16.5, 17.0, "Да."),
        ("manager", 17.5, 19.0, "А бывает, что заявки теряются или клиенту"),  # one sentence over two segments
        ("manager", 19.2, 20.0, "забывают перезвонить?"),
    ]
    assert _questions(lines) == [
        "какие работы планируете и где участок",
        "удобно ли вам говорить",
        "подскажите ваше имя",
        "суббота подойдет",
        "а бывает что заявки теряются или клиенту забывают перезвонить",
    ]


TOPIC_CHECKLIST = textwrap.dedent("""\
    id: topics
    version: "1"
    stages:
      - id: needs
        items:
          - id: situation
            question: true
            topics: ["какой|сколько|где", "сейчас пользоваться|работать"]
          - id: mentioned
            topics: ["сейчас пользоваться|работать"]
""")


def test_topic_questions_need_a_question_and_one_sentence() -> None:
    checklist = parse_checklist(TOPIC_CHECKLIST)
    item = checklist.stages[0].items[0]
    assert item.question and item.topics[0] == (("какой", "сколько", "где"),)

    def card(lines: list[tuple[str, float, float, str]]) -> Scorecard:
        return analyze_call(build_transcript(lines), context=CallContext(direction="inbound"),
                            checklists=[checklist], options=OPTIONS).scorecards[0]

    asked = card([("manager", 0.0, 3.0, "Скажите, чем вы сейчас пользуетесь?"), ("client", 3.5, 4.0, "Экселем.")])
    assert _statuses(asked) == {"situation": "passed", "mentioned": "passed"}
    evidence = asked.item("situation").evidence[0]
    assert evidence.method == "question" and evidence.pattern == "сейчас пользоваться|работать"
    assert "пользуетесь" in evidence.matched and "?" in evidence.quote
    told = card([("manager", 0.0, 3.0, "Мы сейчас работаем без выходных."), ("client", 3.5, 4.0, "Хорошо.")])
    assert _statuses(told) == {"situation": "failed", "mentioned": "passed"}
    assert "no question on this item's topics" in told.item("situation").reason
    split = card([("manager", 0.0, 2.0, "Сейчас."), ("manager", 2.0, 4.0, "Работаем."), ("client", 4.5, 5.0, "Да.")])
    assert _statuses(split)["mentioned"] == "failed"  # the words must share one sentence
    where = card([("manager", 0.0, 2.0, "А где находится объект"), ("client", 2.5, 4.0, "В Подольске.")])
    assert _statuses(where)["situation"] == "passed"


@pytest.mark.parametrize(("item", "message"), [
    ("question: true\n        patterns: [как дела]", "question: true needs topics"),
    ("topics: ['утро|10:00 звонок']", "must be one word"),
    ("topics: ['{company} сейчас']", "placeholders are not allowed"),
])
def test_topic_validation_errors_carry_lines(item: str, message: str) -> None:
    text = "id: x\nversion: '1'\nstages:\n  - id: needs\n    items:\n      - id: q\n        " + item + "\n"
    with pytest.raises(ChecklistError) as info:
        parse_checklist(text, source="x.yaml")
    assert any(line == 7 and message in msg for line, msg in info.value.errors), info.value.errors
    assert "x.yaml:7: item 'q'" in str(info.value)


def _inbound(lines: list[tuple[str, float, float, str]], **context: object) -> Scorecard:
    ctx = CallContext(direction="inbound", company_names=COMPANIES, **context)  # type: ignore[arg-type]
    return analyze_call(build_transcript(lines), context=ctx, checklists=[load_checklist("inbound_lead")],
                        options=OPTIONS).scorecards[0]


@pytest.mark.parametrize(("text", "status"), [
    ("Компания опрокат, меня зовут, она издравствует, чем могу помочь.", "passed"),  # real ASR output
    ("Здрасьте, слушаю вас.", "passed"),
    ("Добрый! Слушаю вас.", "passed"),
    ("Алло, здравствуйте.", "passed"),
    ("Алло, слышите меня?", "failed"),
    ("Да, слушаю.", "failed"),
])
def test_greeting_variants(text: str, status: str) -> None:
    card = _inbound([("manager", 0.0, 4.0, text), ("client", 4.5, 6.0, "Здравствуйте.")])
    assert card.item("greeting").status == status


@pytest.mark.parametrize(("text", "status"), [
    ("Давайте забронируем?", "passed"),
    ("Давайте я вас запишу на четверг.", "passed"),
    ("Предлагаю встретиться на объекте.", "passed"),
    ("Предлагаю заключить договор сегодня.", "passed"),
    ("Готовы оформить заказ?", "passed"),
    ("Вас записать?", "passed"),
    ("Угу, давайте.", "failed"),
    ("Мы оформляем договор за один день.", "failed"),
    ("Пришлю вам прайс.", "failed"),  # two-word phrases get no fuzzy slack ("приглашаю вас")
])
def test_call_to_action_variants(text: str, status: str) -> None:
    card = _inbound([("manager", 0.0, 3.0, text), ("client", 3.5, 4.0, "Угу.")])
    assert card.item("call_to_action").status == status


def test_asr_garbled_phrase_and_company_names() -> None:
    card = _inbound([("manager", 0.0, 3.0, "Стоматология Денталюкс, конечно, как вам выброщаться."),
                     ("client", 3.5, 4.0, "Дмитрий.")])
    assert card.item("client_name").status == "passed"  # one garbled word in a three-word phrase
    assert card.item("company_named").evidence[0].matched == "денталюкс"  # "Дента Люкс" run together
    short = _inbound([("manager", 0.0, 3.0, "Прокат, здравствуйте."), ("client", 3.5, 4.0, "Добрый день.")])
    assert short.item("company_named").status == "failed"  # "прокат" is too short for "ТехПрокат"


def test_forbidden_phrases_do_not_match_fuzzily() -> None:
    polite = _inbound([("manager", 0.0, 3.0, "Добрый день, мы не отстаем от графика."), ("client", 3.5, 4.0, "Да.")])
    assert polite.item("no_rudeness").status == "passed"  # "отставать" resembles "отстать" (ratio 87)
    rude = _inbound([("manager", 0.0, 3.0, "Отстаньте от меня."), ("client", 3.5, 4.0, "Да.")])
    assert rude.item("no_rudeness").status == "failed" and "no_rudeness" in rude.critical_failures
