"""Text normalisation for festival: everything must come out as Cyrillic words."""

from __future__ import annotations

import re

import pytest

from callqa.synth import normalize_for_tts, transliterate_latin

LATIN_OR_DIGIT = re.compile(r"[A-Za-z0-9%№@&+₽$]")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("У нас 5 машин", "У нас пять машин"),
        ("Стоимость 22 000 рублей", "Стоимость двадцать две тысячи рублей"),
        ("Аренда на 2 недели", "Аренда на две недели"),
        ("21 машина и 1 окно", "двадцать одна машина и одно окно"),
        ("Договор 4127", "Договор четыре тысячи сто двадцать семь"),
        ("Код 007", "Код ноль ноль семь"),
        ("ставка 2,5 пункта", "ставка две целых пять десятых пункта"),
    ],
)
def test_numbers_are_spelled_with_agreement(text: str, expected: str) -> None:
    assert normalize_for_tts(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("в 15:30", "в пятнадцать тридцать"),
        ("в 9:00", "в девять ноль ноль"),
        ("до 18:05.", "до восемнадцать ноль пять."),
        ("с 9:00 до 12:00", "с девять ноль ноль до двенадцать ноль ноль"),
    ],
)
def test_times(text: str, expected: str) -> None:
    assert normalize_for_tts(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("скидка 30%", "скидка тридцать процентов"),
        ("скидка 21 %", "скидка двадцать один процент"),
        ("рост на 3%", "рост на три процента"),
        ("ставка 2,5%", "ставка две целых пять десятых процента"),
    ],
)
def test_percentages(text: str, expected: str) -> None:
    assert normalize_for_tts(text) == expected


def test_dates_use_ordinals_in_the_right_case() -> None:
    assert normalize_for_tts("в четверг, 12 ноября") == "в четверг, двенадцатое ноября"
    assert normalize_for_tts("до 20 мая") == "до двадцатого мая"
    assert normalize_for_tts("к 5 апреля") == "к пятому апреля"


def test_phone_numbers_are_read_in_groups() -> None:
    assert normalize_for_tts("+7 (495) 123-45-07") == (
        "плюс семь четыреста девяносто пять сто двадцать три сорок пять ноль семь"
    )
    assert normalize_for_tts("8 800 555-35-35").startswith("восемь восемьсот пятьсот пятьдесят пять")


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("CRM", "си эр эм"),
        ("crm", "си эр эм"),
        ("WhatsApp", "ватсап"),
        ("SMS", "эс эм эс"),
        ("KPI", "кей пи ай"),  # acronym not in the dictionary: letter by letter
        ("Smart", "смарт"),  # ordinary word: phonetic transliteration
        ("service", "сервис"),
        ("B2B", "би ту би"),
        ("Pro100", "про сто"),
    ],
)
def test_latin_words(word: str, expected: str) -> None:
    assert transliterate_latin(word) == expected


def test_email_and_site() -> None:
    assert normalize_for_tts("пишите на hr@denta-lux.ru") == (
        "пишите на эйч ар собака дента дефис лукс точка ру"
    )
    assert "точка ру" in normalize_for_tts("сайт smartlead.ru")


@pytest.mark.parametrize(
    "text",
    [
        "Запишу вас в CRM и пришлю PDF на e-mail до 18:00, скидка 15% до 20 мая.",
        "Тариф Business Pro для B2B: 9 900 ₽ в месяц, №17, 3 шт., Wi-Fi & Zoom, +7 999 000-11-22.",
        "«Дента Люкс» — клиника (ул. Садовая, д. 8) / тел. 8-800-555-35-35",
    ],
)
def test_output_has_no_latin_digits_or_symbols(text: str) -> None:
    out = normalize_for_tts(text)
    assert not LATIN_OR_DIGIT.search(out), out
    assert out == out.strip() and "  " not in out
    assert re.search(r"[а-яё]", out)


def test_plain_cyrillic_is_unchanged() -> None:
    text = "Здравствуйте, компания «Окна Плюс», меня зовут Алексей. Чем могу помочь?"
    assert normalize_for_tts(text) == "Здравствуйте, компания Окна Плюс, меня зовут Алексей. Чем могу помочь?"


def test_bad_input_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        normalize_for_tts(None)  # type: ignore[arg-type]
