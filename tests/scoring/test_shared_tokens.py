"""The fast paths of analyze_call give the same answers as the plain ones."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from callqa.scoring import find_pii
from callqa.scoring.dates import find_due_expressions
from callqa.scoring.metrics import compute_metrics
from callqa.scoring.outcome import _CUE_STEMS, CALLBACK_CUE
from callqa.scoring.text import tokenize

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from bench_scoring import CLIENT_PHRASES, MANAGER_PHRASES, synthetic_call  # noqa: E402


def test_shared_segment_tokens_change_nothing() -> None:
    rng = random.Random(11)
    for _ in range(5):
        call = synthetic_call(rng)
        tokens = [tokenize(s.text) for s in call.segments]
        assert compute_metrics(call, segment_tokens=tokens) == compute_metrics(call)
        assert find_pii(call, tokens) == find_pii(call)


def test_segment_tokens_of_wrong_length_are_rejected() -> None:
    call = synthetic_call(random.Random(2))
    with pytest.raises(ValueError, match="segment_tokens"):
        compute_metrics(call, segment_tokens=[])
    with pytest.raises(ValueError, match="segment_tokens"):
        find_pii(call, [])


@pytest.mark.parametrize("text", [*MANAGER_PHRASES, *CLIENT_PHRASES, "Перезвоню ЗАВТРА утром", "наберу в пятницу",
                                  "Свяжусь с вами на следующей неделе", "СООБЩУ через два часа", "до конца недели"])
def test_callback_cue_substrings_match_the_regex(text: str) -> None:
    assert any(stem in text.casefold() for stem in _CUE_STEMS) == (CALLBACK_CUE.search(text) is not None)


def test_due_prefilter_keeps_expressions() -> None:
    assert [e.kind for e in find_due_expressions("Перезвоню ЗАВТРА, или в Пятницу вечером")] == ["day", "weekday"]
    assert find_due_expressions("Да, понятно, спасибо.") == []
