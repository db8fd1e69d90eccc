"""Benchmark scoring throughput: checklists + speech metrics + classification + PII, no ASR.

Builds synthetic five-minute Russian sales calls (random dialogues from a phrase bank, with
word timings), then times ``analyze_call`` on one core and prints calls per second.

    .venv/bin/python scripts/bench_scoring.py --calls 300
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from callqa.scoring import CallContext, ScoringOptions, analyze_call, load_checklists

from callqa.types import Segment, Transcript, Word

MANAGER_PHRASES = [
    "Добрый день, компания Альфа Строй, меня зовут Ирина.",
    "Как к вам обращаться?",
    "Расскажите подробнее, как у вас сейчас устроена работа с клиентами?",
    "Что вас не устраивает в текущем решении и что хотелось бы изменить?",
    "В какие сроки планируете запуск и какой бюджет рассматриваете?",
    "Под вашу задачу подойдет тариф бизнес, это позволит вам сократить расходы на связь.",
    "Понимаю вас, давайте посчитаем, сколько вы сэкономите за год.",
    "Предлагаю встретиться в офисе и показать систему на ваших данных.",
    "Договорились, тогда завтра в 15:00, я пришлю вам подтверждение в ватсап.",
    "Смотрите, у нас есть несколько вариантов, стандартный и расширенный.",
    "Скажите, а сколько менеджеров у вас работает на телефоне?",
    "Да, конечно, доставка входит в стоимость, монтаж делаем за два дня.",
    "Гарантия три года, обслуживание бесплатное первый год.",
    "Спасибо за звонок, всего доброго!",
    "Я уточню у коллег наличие на складе и перезвоню вам.",
    "Можем предложить рассрочку без переплаты на двенадцать месяцев.",
]
CLIENT_PHRASES = [
    "Здравствуйте, я по поводу вашего предложения.",
    "Павел.",
    "У нас пять менеджеров, звонков много, часть теряется.",
    "Дорого, наверное, я подумаю.",
    "А какие сроки поставки?",
    "Угу.",
    "Да, понятно.",
    "Хорошо, давайте так и сделаем.",
    "Мой номер восемь девятьсот шестнадцать сто двадцать три сорок пять шестьдесят семь.",
    "Нам важно, чтобы всё работало с нашей CRM.",
    "А скидка для новых клиентов есть?",
    "Пришлите, пожалуйста, коммерческое предложение на почту.",
    "Сейчас пользуемся другой системой, но она неудобная.",
]
FILLERS = ("ну", "вот", "так", "значит", "как бы", "в общем", "смотрите", "кстати")


def synthetic_call(rng: random.Random, duration_s: float = 300.0) -> Transcript:
    """A two-party call of ``duration_s`` seconds with evenly timed words (~150 words/min)."""
    segments = []
    t = rng.uniform(0.3, 1.5)
    role = "manager"
    while t < duration_s - 3:
        bank = MANAGER_PHRASES if role == "manager" else CLIENT_PHRASES
        text = " ".join(rng.choice(bank) if rng.random() > 0.15 else rng.choice(FILLERS) + " " + rng.choice(bank)
                        for _ in range(rng.randint(1, 3)))
        pieces = text.split()
        length = len(pieces) * rng.uniform(0.32, 0.48)
        end = min(t + length, duration_s)
        step = (end - t) / len(pieces)
        speaker = "S0" if role == "manager" else "S1"
        words = tuple(Word(t + i * step, t + (i + 1) * step, " " + p, 0.9, speaker) for i, p in enumerate(pieces))
        segments.append(Segment(t, end, " " + text, speaker=speaker, role=role, words=words))
        t = end + rng.uniform(-0.4, 1.2 if rng.random() > 0.05 else 4.0)
        role = "client" if role == "manager" else "manager"
    return Transcript(segments=tuple(segments), duration_s=duration_s, roles={"S0": "manager", "S1": "client"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="timed calls")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls first (fills lemma caches)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--no-classifier", action="store_true", help="skip the default classifier")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    rng = random.Random(args.seed)
    calls = [synthetic_call(rng) for _ in range(args.calls + args.warmup)]
    words = sum(len(s.words) for c in calls for s in c.segments) / len(calls)
    checklists = load_checklists()
    options = ScoringOptions(use_default_classifier=not args.no_classifier)
    contexts = [CallContext(direction=d, company_names=("Альфа Строй",), manager_name="Ирина", lead_form_left=False)
                for d in ("inbound", "outbound", "unknown")]

    classifier = None
    if not args.no_classifier:
        try:
            from callqa.scoring.classify import load_default_classifier  # the classifier engineer's module

            classifier = load_default_classifier()
        except Exception as exc:  # absent or not trained yet: measure without it and say so
            print(f"classifier: not available ({type(exc).__name__}: {exc}); timing without classification")
    cold_start = time.perf_counter()
    analyze_call(calls[0], context=contexts[0], checklists=checklists, options=options, classifier=classifier)
    cold_s = time.perf_counter() - cold_start
    for i, call in enumerate(calls[1:args.warmup]):
        analyze_call(call, context=contexts[i % 3], checklists=checklists, options=options, classifier=classifier)

    timed = calls[args.warmup:]
    # Timed in blocks of about 50 calls: on a shared machine the median block is a steadier figure
    # than the total (another process on the core inflates a few blocks, not all).
    block_rates: list[float] = []
    start = time.perf_counter()
    cpu_start = time.process_time()
    cards = 0
    block_start, block_n = cpu_start, 0
    for i, call in enumerate(timed):
        analysis = analyze_call(call, context=contexts[i % 3], checklists=checklists, options=options,
                                classifier=classifier)
        cards += len(analysis.scorecards)
        block_n += 1
        if block_n == 50 or i == len(timed) - 1:
            now = time.process_time()
            if now > block_start:
                block_rates.append(block_n / (now - block_start))
            block_start, block_n = now, 0
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(f"calls: {len(timed)} x 300 s, {words:.0f} words/call, {len(checklists)} checklists, "
          f"{cards / len(timed):.1f} scorecards/call, classifier: {'yes' if classifier else 'no'}")
    print(f"first call (cold caches): {cold_s * 1000:.0f} ms")
    print(f"per call: {elapsed / len(timed) * 1000:.2f} ms wall, {cpu / len(timed) * 1000:.2f} ms CPU")
    print(f"throughput (CPU time, one core): {len(timed) / cpu:.1f} calls/s")
    print(f"throughput (CPU time, median of {len(block_rates)} blocks): {statistics.median(block_rates):.1f} calls/s")
    print(f"throughput (wall clock, shared machine load {os.getloadavg()[0]:.1f}): {len(timed) / elapsed:.1f} calls/s")


if __name__ == "__main__":
    main()
