"""The shipped labelled corpus: size, balance, format, variety and an honest held-out split."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from callqa.scoring.corpus.build_corpus import call_key, generate, split_bank
from callqa.scoring.dates import find_due_expression

from callqa.types import CALL_CLASSES, OUTCOMES

CORPUS = Path(__file__).resolve().parents[2] / "scoring" / "corpus"
INDUSTRIES = {"equipment_rental", "saas_smb", "windows", "dental", "car_dealer", "credit_broker", "developer"}


def _read(name: str) -> list[dict]:
    return [json.loads(line) for line in (CORPUS / name).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def train() -> list[dict]:
    return _read("train.jsonl")


@pytest.fixture(scope="module")
def heldout() -> list[dict]:
    return _read("heldout.jsonl")


def test_size_balance_and_labels(train: list[dict], heldout: list[dict]) -> None:
    assert len(train) + len(heldout) >= 400
    for records in (train, heldout):
        counts = Counter(r["call_class"] for r in records)
        assert set(counts) == set(CALL_CLASSES)
        assert max(counts.values()) == min(counts.values())
        assert {r["industry"] for r in records} >= INDUSTRIES
        assert all(r["outcome"] in OUTCOMES for r in records)
    assert not {r["id"] for r in train} & {r["id"] for r in heldout}


def test_turn_format_and_lengths(train: list[dict], heldout: list[dict]) -> None:
    lengths = []
    for r in train + heldout:
        assert 3 <= len(r["turns"]) <= 30
        assert all(t["role"] in ("manager", "client") and t["text"].strip() for t in r["turns"])
        lengths.append(len(r["turns"]))
    assert min(lengths) <= 5 and max(lengths) >= 25


def test_callback_calls_carry_a_parsable_due_text(train: list[dict], heldout: list[dict]) -> None:
    for r in train + heldout:
        if r["outcome"] == "callback":
            assert find_due_expression(r["callback_due_text"]) is not None
            text = " ".join(t["text"] for t in r["turns"])
            assert find_due_expression(text) is not None


def test_heldout_sentences_are_not_training_sentences(train: list[dict], heldout: list[dict]) -> None:
    """Long held-out turns (8+ words) almost never occur verbatim in training calls."""
    train_turns = {t["text"].lower() for r in train for t in r["turns"]}
    long_turns = [t["text"].lower() for r in heldout for t in r["turns"] if len(t["text"].split()) >= 8]
    shared = sum(t in train_turns for t in long_turns)
    assert shared / len(long_turns) < 0.02


def test_asr_noise_is_present(train: list[dict]) -> None:
    text = " ".join(t["text"] for r in train for t in r["turns"]).lower().split()
    counts = Counter(text)
    assert counts["короче"] > 20 and counts["эээ"] > 20
    assert Counter(r["noise_level"] for r in train)[0] < len(train) / 2


def test_generator_is_deterministic_and_matches_shipped_files(heldout: list[dict]) -> None:
    again = generate("heldout", per_class=len(heldout) // len(CALL_CLASSES))
    assert again == heldout


def test_calibration_split_is_separate(heldout: list[dict]) -> None:
    """calibration.jsonl: held-out phrasings, own seed, no call equal to a held-out or training call."""
    calib = _read("calibration.jsonl")
    assert len(calib) >= 200 and set(Counter(r["call_class"] for r in calib)) == set(CALL_CLASSES)
    texts = {call_key(r) for r in heldout} | {call_key(r) for r in _read("train.jsonl")}
    assert not texts & {call_key(r) for r in calib}
    assert not {r["id"] for r in calib} & {r["id"] for r in heldout}


def test_unseen_handwritten_set_is_labelled_and_not_generated() -> None:
    """The hand-written check sets share no turn of 6+ words with the generated corpus."""
    generated = {t["text"].lower() for name in ("train.jsonl", "heldout.jsonl", "calibration.jsonl")
                 for r in _read(name) for t in r["turns"]}
    for name in ("unseen_handwritten.jsonl", "unseen_blind.jsonl"):
        records = _read(name)
        assert all(r["call_class"] in CALL_CLASSES and r["outcome"] in OUTCOMES for r in records)
        long_turns = [t["text"].lower() for r in records for t in r["turns"] if len(t["text"].split()) >= 6]
        assert long_turns and not any(t in generated for t in long_turns)
    assert len(_read("unseen_handwritten.jsonl")) >= 40


def test_split_bank_is_disjoint() -> None:
    items = list(range(10))
    assert set(split_bank(items, "train")).isdisjoint(split_bank(items, "heldout"))
    assert sorted(split_bank(items, "train") + split_bank(items, "heldout")) == items
    assert split_bank([1, 2, 3], "heldout") == [1, 2, 3]
