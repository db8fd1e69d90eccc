"""Personal data: phones, cards, passports, e-mails in written and spoken forms; masking."""

from __future__ import annotations

import json

import pytest
from callqa.scoring import find_pii, mask_pii
from callqa.scoring.pii import find_pii_in_text
from scoring_helpers import build_transcript


def _kinds(text: str) -> list[tuple[str, str, str]]:
    return [(kind, text[a:b], form) for kind, a, b, form, _ in find_pii_in_text(text)]


@pytest.mark.parametrize("text, expected", [
    ("Мой номер +7 (916) 123-45-67, записали?", "+7 (916) 123-45-67"),
    ("звоните 8 916 123 45 67", "8 916 123 45 67"),
    ("телефон 89161234567", "89161234567"),
    ("мобильный 916-123-45-67", "916-123-45-67"),
])
def test_written_phone_numbers(text: str, expected: str) -> None:
    assert _kinds(text) == [("phone", expected, "written")]


@pytest.mark.parametrize("text, expected", [
    ("Запишите: восемь девятьсот шестнадцать сто двадцать три сорок пять шестьдесят семь.",
     "восемь девятьсот шестнадцать сто двадцать три сорок пять шестьдесят семь"),
    ("плюс семь девятьсот двадцать пять ноль ноль один два три четыре пять",
     "плюс семь девятьсот двадцать пять ноль ноль один два три четыре пять"),
    ("мой номер восемь 916 сто двадцать три, сорок пять, шестьдесят семь",
     "восемь 916 сто двадцать три, сорок пять, шестьдесят семь"),
])
def test_spoken_phone_numbers(text: str, expected: str) -> None:
    assert _kinds(text) == [("phone", expected, "spoken")]


def test_cards_passports_and_emails() -> None:
    assert _kinds("карта 4276 1234 5678 9012") == [("card", "4276 1234 5678 9012", "written")]
    spoken_card = "четыре два семь шесть один два три четыре пять шесть семь восемь девять ноль один два"
    assert _kinds(f"номер карты {spoken_card}") == [("card", spoken_card, "spoken")]
    assert _kinds("паспорт серия 45 12 номер 345678") == [("passport", "45 12 номер 345678", "written")]
    assert _kinds("серия сорок пять двенадцать номер триста сорок пять шестьсот семьдесят восемь") == [
        ("passport", "сорок пять двенадцать номер триста сорок пять шестьсот семьдесят восемь", "spoken")]
    assert _kinds("почта ivan.petrov@mail.ru, пишите") == [("email", "ivan.petrov@mail.ru", "written")]
    assert _kinds("пишите на иван точка петров собака яндекс точка ру") == [
        ("email", "иван точка петров собака яндекс точка ру", "spoken")]


@pytest.mark.parametrize("text", [
    "Стоимость сто двадцать тысяч рублей, скидка пять процентов.",
    "Встреча завтра в 15:00, офис на третьем этаже, кабинет 204.",
    "Двадцать пятого марта две тысячи двадцать шестого года.",
    "У нас пять менеджеров и двенадцать филиалов.",
    "",
])
def test_no_false_positives(text: str) -> None:
    assert find_pii_in_text(text) == []


def test_spans_carry_times_not_the_data_and_masking_removes_it() -> None:
    transcript = build_transcript([
        ("manager", 0.0, 3.0, "Продиктуйте, пожалуйста, номер телефона."),
        ("client", 3.5, 10.5, "Восемь девятьсот шестнадцать сто двадцать три сорок пять шестьдесят семь, "
                              "и почта ivan@mail.ru"),
    ])
    spans = find_pii(transcript)
    assert [s.kind for s in spans] == ["phone", "email"]
    phone = spans[0]
    text = transcript.segments[1].text
    assert phone.segment_index == 1 and text[phone.char_start:phone.char_end].startswith("Восемь")
    assert 3.5 <= phone.start_s < phone.end_s <= 10.5
    assert phone.start_s == transcript.segments[1].words[0].start_s
    assert phone.end_s == transcript.segments[1].words[9].end_s  # "семь," is the 10th word
    dumped = json.dumps([s.to_dict() for s in spans], ensure_ascii=False)
    assert "916" not in dumped and "ivan" not in dumped
    masked = mask_pii(transcript, spans)
    assert masked.segments[1].text.strip() == "[ТЕЛЕФОН], и почта [EMAIL]"
    assert [w.text.strip() for w in masked.segments[1].words][:10] == ["[ТЕЛЕФОН]"] * 10
    assert [w.text.strip() for w in masked.segments[1].words][10:] == ["и", "почта", "[EMAIL]"]
    assert masked.segments[0] == transcript.segments[0]
    assert find_pii(masked) == []
    assert mask_pii(transcript, replacement="***").segments[1].text.strip() == "***, и почта ***"
    with pytest.raises(ValueError, match="segment_index"):
        mask_pii(build_transcript([("client", 0, 1, "да")]), spans)


def test_number_dictated_across_two_segments() -> None:
    transcript = build_transcript([
        ("manager", 0.0, 2.0, "Записываю ваш номер."),
        ("client", 2.5, 5.0, "Восемь девятьсот шестнадцать,"),
        ("client", 5.6, 9.0, "сто двадцать три, сорок пять, шестьдесят семь."),
        ("client", 20.0, 22.0, "Двадцать пять"),  # too far from the previous piece and too short
    ])
    spans = find_pii(transcript)
    assert [(s.kind, s.segment_index, s.form) for s in spans] == [("phone", 1, "spoken"), ("phone", 2, "spoken")]
    assert spans[0].start_s == 2.5 and spans[1].end_s == pytest.approx(9.0)
    masked = mask_pii(transcript, spans)
    assert [s.text.strip() for s in masked.segments[1:3]] == ["[ТЕЛЕФОН],", "[ТЕЛЕФОН]."]
