"""Scoring test helpers: build transcripts from (role, start, end, text) lines with even word timings."""

from __future__ import annotations

from collections.abc import Sequence

from callqa.types import Segment, Transcript, Word

Line = tuple[str, float, float, str]


def build_transcript(lines: Sequence[Line], *, duration_s: float | None = None,
                     roles_on_segments: bool = True) -> Transcript:
    """A Transcript whose words are spread evenly over each line's time span.

    Args:
        lines: ``(role, start_s, end_s, text)``; role "manager", "client" or "unknown".
        duration_s: call duration (default: end of the last line).
        roles_on_segments: False leaves segment roles "unknown" and puts them in ``Transcript.roles``
            (as mono diarization with a speaker -> role map does).
    """
    segments = []
    for role, start, end, text in lines:
        pieces = text.split()
        step = (end - start) / max(len(pieces), 1)
        speaker = {"manager": "S0", "client": "S1"}.get(role, "S9")
        words = tuple(
            Word(round(start + i * step, 3), round(start + (i + 1) * step, 3), " " + piece, 0.9, speaker)
            for i, piece in enumerate(pieces)
        )
        segments.append(Segment(start, end, " " + text, speaker=speaker,
                                role=role if roles_on_segments else "unknown", words=words, confidence=0.9))
    end = max((line[2] for line in lines), default=0.0)
    return Transcript(
        segments=tuple(segments),
        language="ru",
        duration_s=duration_s if duration_s is not None else end,
        roles={} if roles_on_segments else {"S0": "manager", "S1": "client"},
        role_confidence=0.9,
    )


GOOD_INBOUND: list[Line] = [
    ("manager", 0.5, 5.0, "Добрый день, компания Альфа Строй, меня зовут Ирина."),
    ("client", 5.4, 9.0, "Здравствуйте, я хотел узнать про ремонт квартиры."),
    ("manager", 9.3, 12.0, "Как к вам обращаться?"),
    ("client", 12.2, 13.0, "Павел."),
    ("manager", 13.3, 18.0, "Павел, расскажите подробнее, какая у вас квартира и что хотелось бы изменить?"),
    ("client", 18.3, 26.0, "Двухкомнатная, пятьдесят метров, хочу поменять полы и сделать ванную."),
    ("manager", 26.3, 30.0, "В какие сроки планируете начать и какой бюджет рассматриваете?"),
    ("client", 30.3, 35.0, "Хотелось бы в марте, бюджет около восьмисот тысяч."),
    ("manager", 35.3, 47.0, "Под вашу задачу подойдет пакет под ключ: это позволит вам уложиться в срок, "
                            "замерщик всё посчитает бесплатно. Предлагаю встретиться на объекте."),
    ("client", 47.3, 50.0, "Дорого наверное будет, я подумаю."),
    ("manager", 50.3, 58.0, "Понимаю вас. Давайте посчитаем смету на замере, это ни к чему не обязывает."),
    ("client", 58.3, 60.0, "Хорошо, давайте."),
    ("manager", 60.3, 68.0, "Договорились: замер завтра в 10:00 у вас по адресу, "
                            "я пришлю вам подтверждение в ватсап."),
    ("client", 68.3, 70.0, "Отлично, спасибо."),
    ("manager", 70.3, 73.0, "Спасибо за звонок, всего доброго!"),
]
