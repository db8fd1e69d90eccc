"""Generate the labelled Russian call corpus (train.jsonl, heldout.jsonl) from hand-written banks.

Calls are composed from hand-written parts (openings, qualification, pitches, questions, closings)
with a fixed seed, then passed through ASR-like noise (lower case, dropped punctuation, fillers,
misspellings). To keep the held-out split honest, every phrase bank with four or more entries is
split by index: entries 3, 7, 11, ... are used only in held-out calls, the rest only in training
calls, so a held-out call never reuses a training sentence template. Names, companies and due
expressions are shared vocabulary.

A third part, calibration.jsonl, is composed from the held-out bank entries with its own seed (no
call equal to a held-out call); training fits only the probability temperature on it.

Usage: python -m callqa.scoring.corpus.build_corpus [--out DIR] [--train-per-class N] [--heldout-per-class N]
       [--calibration-per-class N]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

from callqa.scoring.corpus import banks_common as C
from callqa.scoring.corpus.banks_extra import EXTRA_INDUSTRIES, GENERIC
from callqa.scoring.corpus.banks_industry import INDUSTRIES as MAIN_INDUSTRIES

INDUSTRIES: dict[str, dict[str, list]] = {**MAIN_INDUSTRIES, **EXTRA_INDUSTRIES}
# Share of calls from the smaller extra businesses (the rest: the seven main industries).
EXTRA_SHARE = 0.25

logger = logging.getLogger(__name__)

CLASSES = ("lead", "non_target", "spam", "upsell", "service")
OUTCOME_WEIGHTS: dict[str, dict[str, float]] = {
    "lead": {"sale": 0.25, "next_step": 0.22, "callback": 0.2, "refusal": 0.2, "none": 0.13},
    "upsell": {"sale": 0.3, "next_step": 0.2, "callback": 0.2, "refusal": 0.18, "none": 0.12},
    # A service call can end in a refusal: the client declines a retention offer when cancelling.
    "service": {"none": 0.42, "callback": 0.28, "next_step": 0.24, "refusal": 0.06},
    "non_target": {"none": 0.85, "callback": 0.15},
    # Spam has no sales outcome: a manager hanging up on a robot is not a client's refusal.
    "spam": {"none": 1.0},
}
SEEDS = {"train": 20251, "heldout": 90517, "calibration": 31337}
# Which half of the split banks each part draws from: calibration calls are composed from the
# held-out entries (with their own seed), so the temperature is fitted on phrasings the model
# never saw, and temperature scaling cannot change a held-out prediction (argmax).
BANK_PART = {"train": "train", "heldout": "heldout", "calibration": "heldout"}
SHARED_KEYS = {"companies", "job", "supplier"}
_PHONETIC = {"о": "а", "а": "о", "е": "и", "и": "е", "т": "д", "д": "т", "з": "с", "с": "з", "б": "п", "в": "ф"}


def split_bank(items: list[Any], part: str) -> list[Any]:
    """Entries of ``items`` reserved for ``part`` ("train" or "heldout"); short banks are shared."""
    if len(items) < 4:
        return list(items)
    held = [x for i, x in enumerate(items) if i % 4 == 3]
    return held if part == "heldout" else [x for i, x in enumerate(items) if i % 4 != 3]


class CallBuilder:
    """Composes one labelled call at a time for a given split."""

    def __init__(self, part: str, seed: int) -> None:
        self.part = part
        self.rng = random.Random(seed)

    # -- helpers -------------------------------------------------------------------------------
    def pick(self, items: list[Any], shared: bool = False) -> Any:
        return self.rng.choice(list(items) if shared else split_bank(items, self.part))

    def sample(self, items: list[Any], k: int) -> list[Any]:
        pool = split_bank(items, self.part)
        return self.rng.sample(pool, min(k, len(pool)))

    def fill(self, text: str) -> str:
        return text.format(**self.slots)

    def say(self, role: str, text: str) -> None:
        self.turns.append((role, self.fill(text)))

    def start(self, industry: str) -> None:
        self.ind = {key: INDUSTRIES[industry].get(key) or GENERIC[key] for key in GENERIC}
        self.ind.update({k: v for k, v in INDUSTRIES[industry].items() if v})
        if not self.ind["next_step"]:
            self.ind["next_step"] = C.NEXT_STEP_MANAGER
        if not self.ind["sale"]:
            self.ind["sale"] = C.SALE_MANAGER
        self.turns: list[tuple[str, str]] = []
        self.due: str | None = None
        self.slots = {
            "company": self.pick(self.ind["companies"], shared=True),
            "mname": self.pick(C.MANAGER_NAMES, shared=True),
            "cname": self.pick(C.CLIENT_NAMES, shared=True),
            "job": self.pick(self.ind["job"], shared=True),
            "supplier": self.pick(self.ind["supplier"], shared=True),
            "num": f"{self.rng.randint(10, 99)}-{self.rng.randint(100, 9999)}",
            "due": "",
        }
        roll = self.rng.random()
        self.long = roll < 0.2
        self.short = roll > 0.8  # a quick call: one question, one answer, the outcome

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # -- common blocks ---------------------------------------------------------------------------
    def opening_inbound(self, client_text: str) -> None:
        self.say("manager", self.pick(C.GREET_INBOUND))
        if self.chance(0.35):
            self.say("client", self.pick(C.CLIENT_HELLO) + " " + client_text)
        else:
            self.say("client", client_text)
        if self.chance(0.3):
            self.say("manager", "Подскажите, как к вам обращаться?")
            self.say("client", self.pick(C.CLIENT_NAME_INTRO))

    def opening_outbound(self, manager_text: str) -> None:
        self.say("manager", self.pick(C.GREET_OUTBOUND))
        self.say("client", self.pick(C.CLIENT_HELLO))
        self.say("manager", manager_text)

    def qualification(self, rounds: int) -> None:
        questions = self.sample(self.ind["qualify"], rounds)
        for q in questions:
            prefix = self.pick(C.ACK_MANAGER) + " " if self.chance(0.3) else ""
            self.say("manager", prefix + q)
            self.say("client", self.pick(self.ind["details"]))

    def questions(self, rounds: int) -> None:
        for q, a in self.sample(self.ind["qa"], rounds):
            self.say("client", q)
            self.say("manager", a)
            if self.chance(0.3):
                self.say("client", self.pick(C.ACK_CLIENT))

    def clarifications(self, rounds: int) -> None:
        for _ in range(rounds):
            if self.chance(0.5):
                self.say("client", self.pick(C.CLIENT_INTERRUPTS))
                self.say("manager", self.pick(C.MANAGER_HOLD))
            else:
                self.say("manager", self.pick(C.MANAGER_HOLD))
                self.say("client", self.pick(C.ACK_CLIENT))

    def small_talk(self) -> None:
        q, answers = self.pick(C.SMALL_TALK, shared=True)
        self.say("manager", q)
        self.say("client", self.rng.choice(answers))

    def farewell(self) -> None:
        if self.chance(0.8):
            self.say("manager", self.pick(C.FAREWELL_MANAGER))
        if self.chance(0.6):
            self.say("client", self.pick(C.FAREWELL_CLIENT))

    def next_step(self) -> None:
        """A concrete next step: a meeting, visit or demo with a day/time (sometimes with a call before it)."""
        roll = self.rng.random()
        if roll < 0.45:
            self.say("manager", self.pick(self.ind["next_step"] if self.chance(0.5) else C.NEXT_STEP_MANAGER))
            self.say("client", self.pick(C.CLOSE_NEXT_STEP_CLIENT))
        elif roll < 0.8:
            self.say("manager", self.pick(C.NEXT_STEP_CONCRETE))
            self.say("client", self.pick(C.NEXT_STEP_CLIENT_AGREE))
        else:
            self.say("client", self.pick(C.NEXT_STEP_CLIENT_PROPOSE))
            self.say("manager", self.pick(C.NEXT_STEP_CONCRETE))
            if self.chance(0.6):
                self.say("client", self.pick(C.NEXT_STEP_CLIENT_AGREE))

    def callback(self, client_asks: bool | None = None) -> None:
        self.due = self.pick(C.DUE_TEXTS, shared=True)
        self.slots["due"] = self.due
        if client_asks is None:
            client_asks = self.chance(0.4)
        if self.chance(0.45):
            if client_asks:
                self.say("client", self.pick(C.CALLBACK_MORE_CLIENT))
                self.say("manager", self.pick(C.CALLBACK_MORE_CONFIRM))
            else:
                self.say("manager", self.pick(C.CALLBACK_MORE_MANAGER))
                self.say("client", self.pick(C.CALLBACK_CONFIRM_CLIENT))
            return
        if client_asks:
            self.say("client", self.pick(C.CALLBACK_CLIENT_ASK))
            self.say("manager", self.pick(C.CALLBACK_CONFIRM_MANAGER))
        else:
            self.say("manager", self.pick(C.CALLBACK_MANAGER))
            self.say("client", self.pick(C.CALLBACK_CONFIRM_CLIENT))

    def commercial_outcome(self, outcome: str) -> None:
        if outcome == "sale":
            if self.chance(0.3):
                self.say("client", self.pick(self.ind["objection"]))
                self.say("manager", self.pick(C.OBJECTION_HANDLING))
            self.say("client", self.pick(C.CLOSE_SALE_CLIENT))
            if self.chance(0.5):
                q, answers = self.pick(C.SALE_LOGISTICS)
                self.say("manager", q)
                self.say("client", self.rng.choice(answers))
            self.say("manager", self.pick(self.ind["sale"] if self.chance(0.5) else C.SALE_MANAGER))
            if self.chance(0.5):
                self.say("client", self.pick(C.ACK_CLIENT))
        elif outcome == "next_step":
            self.next_step()
            if self.chance(0.5):
                q, answers = self.pick(C.NEXT_STEP_LOGISTICS)
                self.say("manager", q)
                self.say("client", self.rng.choice(answers))
        elif outcome == "callback":
            if self.chance(0.3):
                self.say("client", self.pick(self.ind["objection"]))
                self.say("manager", self.pick(C.OBJECTION_HANDLING))
            self.callback()
        elif outcome == "refusal":
            if self.chance(0.6):
                self.say("client", self.pick(self.ind["objection"]))
                self.say("manager", self.pick(C.OBJECTION_HANDLING))
            if self.chance(0.5):
                self.say("client", self.pick(C.REFUSAL_CLIENT))
                self.say("manager", self.pick(C.REFUSAL_MANAGER_REPLY))
            else:
                self.say("client", self.pick(C.REFUSAL_MORE_CLIENT))
                if self.chance(0.8):
                    self.say("manager", self.pick(C.REFUSAL_MORE_MANAGER))
        elif outcome == "none":
            if self.chance(0.5):
                self.say("client", self.pick(C.NONE_CLIENT))
                self.say("manager", self.pick(C.NONE_MANAGER_REPLY))
            else:
                if self.chance(0.4):  # the manager leaves it to the client: no promise, no date
                    self.say("manager", self.pick(C.NONE_MORE_MANAGER))
                self.say("client", self.pick(C.NONE_MORE_CLIENT))
                if self.chance(0.6):
                    self.say("manager", self.pick(C.NONE_MORE_MANAGER))
        else:
            raise ValueError(f"unknown outcome {outcome!r}")

    # -- classes -------------------------------------------------------------------------------
    def lead(self, outcome: str) -> None:
        roll = self.rng.random()
        if roll < 0.12:  # a weak manager: short greeting, a monologue, no questions
            self.say("manager", self.pick(["Да, слушаю.", "Алло.", "Да.", "Слушаю вас.", "{company}, да."]))
            self.say("client", self.pick(C.LEAD_PLAIN_OPEN if self.chance(0.5) else self.ind["lead_open"]))
            for text in self.sample(C.MANAGER_MONOLOGUE, self.rng.randint(1, 2)):
                self.say("manager", text)
            if self.chance(0.5):
                self.say("client", self.pick(self.ind["qa"])[0])
                self.say("manager", self.pick(C.MANAGER_MONOLOGUE))
            self.commercial_outcome(outcome)
            if self.chance(0.5):
                self.farewell()
            return
        if roll < 0.22:  # a cold call: the manager calls someone who never asked
            self.opening_outbound(self.pick(C.COLD_CALL_OPEN))
            self.say("client", self.pick(C.COLD_CLIENT_REACT))
            self.say("manager", self.pick(self.ind["pitch"]))
            if not self.short:
                self.qualification(self.rng.randint(0, 2))
                self.questions(self.rng.randint(0, 2))
            self.commercial_outcome(outcome)
            self.farewell()
            return
        if roll < 0.72:
            marker = self.pick(C.LEAD_NEW_MARKERS) + " " if self.chance(0.45) else ""
            opener = self.pick(C.LEAD_PLAIN_OPEN) if self.chance(0.25) else self.pick(self.ind["lead_open"])
            self.opening_inbound(marker + opener)
        else:
            self.opening_outbound(self.pick(self.ind["outbound_lead"]))
            self.say("client", self.pick(C.OUTBOUND_ACK) + (" " + self.pick(self.ind["lead_open"]) if self.chance(0.4) else ""))
        if self.short:
            self.say("manager", self.pick(self.ind["pitch"]))
            self.commercial_outcome(outcome)
            self.farewell()
            return
        self.qualification(self.rng.randint(3, 6) if self.long else self.rng.randint(0, 3))
        if self.long or self.chance(0.2):
            self.small_talk()
        if self.long:
            self.clarifications(self.rng.randint(1, 3))
        self.say("manager", self.pick(self.ind["pitch"]))
        if self.chance(0.3):
            self.say("manager", self.pick(self.ind["pitch"]))
        self.questions(self.rng.randint(2, 4) if self.long else self.rng.randint(0, 2))
        self.commercial_outcome(outcome)
        self.farewell()

    def upsell(self, outcome: str) -> None:
        variant = self.rng.random()
        if variant < 0.45:
            opens = C.UPSELL_OUTBOUND_OPEN if self.chance(0.6) else C.UPSELL_SIGNALS_MANAGER
            intro = self.pick(opens) + " " if self.chance(0.9) else ""
            self.opening_outbound(intro + self.pick(self.ind["upsell_offer"]))
            self.say("client", self.pick(C.UPSELL_INTEREST_CLIENT))
        elif variant < 0.75:
            marker = self.pick(C.EXISTING_CLIENT_MARKERS) + " " if self.chance(0.6) else ""
            ask = self.pick(C.UPSELL_SIGNALS_CLIENT) if self.chance(0.3) else self.pick(self.ind["upsell_client"])
            self.opening_inbound(marker + ask)
            if self.chance(0.5):
                self.say("manager", "Назовите, пожалуйста, номер договора или телефон, на который оформлены.")
                self.say("client", self.pick(C.CONTRACT_NUMBER))
            self.qualification(self.rng.randint(0, 2))
            self.say("manager", self.pick(self.ind["pitch"]))
        else:  # a service call that turns into an upsell discussion
            self.opening_inbound(self.pick(self.ind["service_issue"]))
            self.say("manager", self.pick(self.ind["service_reply"]))
            self.say("client", self.pick(C.CONTRACT_NUMBER))
            self.say("manager", self.pick(C.SERVICE_RESOLVED_MANAGER))
            self.say("client", self.pick(C.SERVICE_RESOLVED_CLIENT))
            self.say("manager", self.pick(C.UPSELL_BRIDGE) + " " + self.pick(self.ind["upsell_offer"]))
            self.say("client", self.pick(C.UPSELL_INTEREST_CLIENT))
        if self.long:
            self.clarifications(self.rng.randint(1, 3))
        self.questions(self.rng.randint(2, 4) if self.long else self.rng.randint(0, 2))
        self.commercial_outcome(outcome)
        self.farewell()

    def service(self, outcome: str) -> None:
        if outcome == "none" and self.chance(0.2):  # a quick question of an existing client
            q, a = self.pick(C.SERVICE_QUICK_QA)
            self.say("manager", self.pick(C.GREET_INBOUND))
            self.say("client", q)
            self.say("manager", a)
            self.say("client", self.pick(C.SERVICE_RESOLVED_CLIENT + C.ACK_CLIENT))
            if self.chance(0.5):
                self.farewell()
            return
        generic = self.chance(0.35)
        issue = self.pick((C.SERVICE_GENERIC_ISSUES + C.SERVICE_MORE_ISSUES) if generic else self.ind["service_issue"])
        if outcome == "refusal":  # cancelling: the client declines a retention offer
            issue = self.pick(["Хотим расторгнуть договор, как это сделать?",
                               "Я хочу отказаться от вашего обслуживания, оформите расторжение.",
                               "Мы закрываемся, нужно прекратить договор с вами.",
                               "Хочу отменить подписку, больше не пользуюсь."], shared=True)
        if self.chance(0.85):
            marker = self.pick(C.EXISTING_CLIENT_MARKERS) + " " if self.chance(0.35) else ""
            self.opening_inbound(marker + issue)
        else:
            self.opening_outbound("Звоню по вашему обращению, вы писали нам вчера.")
            self.say("client", "Да, " + issue[0].lower() + issue[1:])
        self.say("manager", self.pick(C.SERVICE_GENERIC_REPLY if generic else self.ind["service_reply"]))
        if not self.short:
            self.say("client", self.pick(C.CONTRACT_NUMBER))
        first_reply = self.turns[-2][1]
        pool = split_bank(self.ind["service_reply"], self.part) + split_bank(C.SERVICE_GENERIC_REPLY, self.part)
        for reply in self.rng.sample(pool, min(len(pool), self.rng.randint(0, 2))):
            if reply != first_reply:
                self.say("manager", self.pick(C.ACK_MANAGER) + " " + reply)
                self.say("client", self.pick(C.ACK_CLIENT))
        if self.long:
            self.clarifications(self.rng.randint(1, 3))
        if outcome == "none":
            self.say("manager", self.pick(C.SERVICE_RESOLVED_MANAGER))
            self.say("client", self.pick(C.SERVICE_RESOLVED_CLIENT))
        elif outcome == "refusal":
            self.say("manager", self.pick(C.SERVICE_CANCEL_RETENTION, shared=True))
            self.say("client", self.pick(C.REFUSAL_MORE_CLIENT))
            self.say("manager", "Хорошо, пришлите заявление, оформим расторжение.")
        elif outcome == "callback":
            self.callback(client_asks=self.chance(0.2))
        elif outcome == "next_step":
            if self.chance(0.6):
                self.say("manager", self.pick(C.SERVICE_VISIT_MANAGER))
                self.say("client", self.pick(C.CLOSE_NEXT_STEP_CLIENT))
            else:
                self.say("manager", self.pick(C.NEXT_STEP_CONCRETE))
                self.say("client", self.pick(C.NEXT_STEP_CLIENT_AGREE))
        else:
            raise ValueError(f"service calls have no outcome {outcome!r}")
        self.farewell()

    def non_target(self, outcome: str) -> None:
        self.say("manager", self.pick(C.GREET_INBOUND))
        if outcome == "callback":
            scenario = self.pick(C.JOB_SEEKER)
        else:
            kind = self.rng.choice(["wrong", "job", "supplier", "other", "scope", "scope"])
            if kind == "scope":
                self.say("client", self.pick(self.ind["out_of_scope"]))
                self.say("manager", self.pick(C.OUT_OF_SCOPE_REPLY))
                self.say("client", self.pick(C.OUT_OF_SCOPE_CLIENT_END))
                self.farewell()
                return
            bank = {"wrong": C.WRONG_NUMBER, "job": C.JOB_SEEKER, "supplier": C.SUPPLIER, "other": C.OTHER_NON_TARGET}[kind]
            scenario = self.pick(bank)
        for role, text in scenario:
            self.say(role, text)
        if outcome == "callback":
            self.due = self.pick(C.DUE_TEXTS, shared=True)
            self.slots["due"] = self.due
            role, text = self.pick(C.JOB_SEEKER_CALLBACK, shared=True)
            self.say(role, text)
            self.say("client", self.pick(C.CALLBACK_CONFIRM_CLIENT))
        self.farewell()

    def spam(self, outcome: str) -> None:
        self.say("manager", self.pick(C.GREET_INBOUND))
        kind = self.rng.random()
        if kind < 0.5:
            self.say("client", self.pick(C.ROBOT_MONOLOGUES))
            rounds = self.rng.randint(1, 3)
            for reaction, follow in zip(self.sample(C.SPAM_MANAGER_REACTIONS, rounds),
                                        self.sample(C.ROBOT_FOLLOWUPS, rounds), strict=False):
                self.say("manager", reaction)
                self.say("client", follow)
        elif kind < 0.85:
            self.say("client", self.pick(C.SPAM_HUMAN_OPENERS))
            self.say("manager", self.pick(C.SPAM_MANAGER_REACTIONS))
            self.say("client", self.pick(C.SPAM_HUMAN_PUSH))
        else:
            self.say("client", self.pick(C.SILENT, shared=True))
            self.say("manager", self.pick(C.SPAM_MANAGER_REACTIONS))
            self.say("client", self.pick(C.ROBOT_FOLLOWUPS) if self.chance(0.5) else "...")
        if outcome != "none":
            raise ValueError(f"spam calls have no outcome {outcome!r}")
        end = self.rng.random()
        if end < 0.45:
            self.say("manager", self.pick(C.SPAM_MANAGER_REFUSAL))
        elif end < 0.8:
            self.say("manager", self.pick(C.SPAM_MANAGER_HANGUP))

    # -- noise ----------------------------------------------------------------------------------
    def misspell(self, word: str) -> str:
        if len(word) < 4 or not word.isalpha():
            return word
        i = self.rng.randrange(1, len(word) - 1)
        op = self.rng.random()
        if op < 0.3:
            return word[:i] + word[i + 1:]
        if op < 0.5:
            return word[:i] + word[i] + word[i:]
        if op < 0.7:
            return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]
        ch = word[i]
        return word[:i] + _PHONETIC.get(ch, ch) + word[i + 1:]

    def noisy(self, text: str, level: int, protected: set[str]) -> str:
        if level == 0:
            return text
        if level >= 1:
            text = text.lower() if self.chance(0.7) else text
            text = text.replace(",", "") if self.chance(0.6) else text
        if level >= 2:
            text = re.sub(r"[.,!?;:—]", "", text)
            text = text.replace("ё", "е")
        words = text.split()
        out: list[str] = []
        p_fill, p_miss, p_drop = {1: (0.03, 0.01, 0.0), 2: (0.08, 0.03, 0.01), 3: (0.15, 0.06, 0.03)}[level]
        for w in words:
            bare = re.sub(r"\W", "", w.lower())
            if self.chance(p_fill):
                out.append(self.rng.choice(C.FILLERS))
            if bare in protected:
                out.append(w)
                continue
            if self.chance(p_drop):
                continue
            out.append(self.misspell(w) if self.chance(p_miss) else w)
            if level == 3 and self.chance(0.02):
                out.append(w)  # stutter / repeated word
        if level >= 2 and self.chance(0.25):
            out.insert(0, self.rng.choice(C.FILLERS))
        return " ".join(out) if out else text

    def diarization_noise(self, turns: list[tuple[str, str]], protected: set[str]) -> list[tuple[str, str]]:
        """Speaker-turn errors of a real pipeline: the end of a turn lands in the next speaker's
        turn, and now and then a short turn is attributed to the wrong speaker."""
        out = list(turns)
        for i in range(len(out) - 1):
            if self.chance(0.12):
                words = out[i][1].split()
                k = self.rng.randint(1, 3)
                moved = words[-k:]
                if len(words) > k + 2 and not {re.sub(r"\W", "", w.lower()) for w in moved} & protected:
                    out[i] = (out[i][0], " ".join(words[:-k]))
                    out[i + 1] = (out[i + 1][0], " ".join(moved) + " " + out[i + 1][1])
        for i, (role, text) in enumerate(out):
            if len(text.split()) <= 4 and self.chance(0.08):
                out[i] = ("client" if role == "manager" else "manager", text)
        return out

    # -- main ----------------------------------------------------------------------------------
    def build(self, call_id: str, industry: str, call_class: str, outcome: str) -> dict[str, Any]:
        self.start(industry)
        getattr(self, call_class)(outcome)
        level = self.rng.choices([0, 1, 2, 3], weights=[0.2, 0.3, 0.3, 0.2])[0]
        protected = set(self.due.split()) if self.due else set()
        turns = [(role, self.noisy(text, level, protected).strip()) for role, text in self.turns]
        if level >= 2:
            turns = self.diarization_noise(turns, protected)
        merged: list[dict[str, str]] = []
        for role, text in turns:
            if not text:  # a silent "..." turn lost its dots: ASR would output nothing either
                continue
            if merged and merged[-1]["role"] == role:
                merged[-1]["text"] += " " + text
            else:
                merged.append({"role": role, "text": text})
        record: dict[str, Any] = {
            "id": call_id, "industry": industry, "call_class": call_class, "outcome": outcome,
            "noise_level": level, "turns": merged,
        }
        if self.due:
            record["callback_due_text"] = self.due
        return record


def generate(part: str, per_class: int, seed: int | None = None,
             exclude: set[str] | None = None) -> list[dict[str, Any]]:
    """Generate ``per_class`` calls of each class for split ``part`` ("train", "heldout" or
    "calibration"); calls whose text is in ``exclude`` are skipped."""
    if part not in SEEDS:
        raise ValueError(f"part {part!r} is not one of: {', '.join(SEEDS)}")
    builder = CallBuilder(BANK_PART[part], SEEDS[part] if seed is None else seed)
    main, extra = sorted(MAIN_INDUSTRIES), sorted(EXTRA_INDUSTRIES)
    records: list[dict[str, Any]] = []
    seen: set[str] = set(exclude or ())
    n = 0
    for call_class in CLASSES:
        weights = OUTCOME_WEIGHTS[call_class]
        made = 0
        attempts = 0
        while made < per_class:
            attempts += 1
            if attempts > per_class * 20:
                raise RuntimeError(f"could not generate {per_class} distinct {call_class} calls")
            pool = extra if builder.rng.random() < EXTRA_SHARE else main
            industry = pool[(made + attempts) % len(pool)] if attempts % 3 else builder.rng.choice(pool)
            outcome = builder.rng.choices(list(weights), weights=list(weights.values()))[0]
            record = builder.build(f"{part}-{n:04d}", industry, call_class, outcome)
            key = call_key(record)
            if key in seen or not 3 <= len(record["turns"]) <= 30:
                continue
            seen.add(key)
            records.append(record)
            made += 1
            n += 1
    builder.rng.shuffle(records)
    return records


def call_key(record: dict[str, Any]) -> str:
    """The call's text, turn by turn: two calls with the same key are duplicates."""
    return " | ".join(t["text"] for t in record["turns"])


def write_jsonl(records: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--train-per-class", type=int, default=600)
    parser.add_argument("--heldout-per-class", type=int, default=50)
    parser.add_argument("--calibration-per-class", type=int, default=50)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    heldout_texts: set[str] = set()
    for part, per_class in (("train", args.train_per_class), ("heldout", args.heldout_per_class),
                            ("calibration", args.calibration_per_class)):
        records = generate(part, per_class, exclude=heldout_texts if part == "calibration" else None)
        if part == "heldout":
            heldout_texts = {call_key(r) for r in records}
        write_jsonl(records, args.out / f"{part}.jsonl")
        turns = [len(r["turns"]) for r in records]
        logger.info(
            "%s: %d calls, turns %d..%d, classes %s, outcomes %s", part, len(records), min(turns), max(turns),
            dict(Counter(r["call_class"] for r in records)), dict(Counter(r["outcome"] for r in records)),
        )


if __name__ == "__main__":
    main()
