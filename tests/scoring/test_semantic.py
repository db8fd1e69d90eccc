"""Optional semantic matching: off by default, clean error without transformers, works with an encoder."""

from __future__ import annotations

import importlib.util
import textwrap
import zlib

import numpy as np
import pytest
from callqa.scoring import CallContext, ScoringOptions, analyze_call, parse_checklist
from callqa.scoring.semantic import SemanticUnavailableError, load_transformers_encoder
from scoring_helpers import build_transcript

CHECKLIST = parse_checklist(textwrap.dedent("""\
    id: sem
    version: 1
    stages:
      - id: needs
        items:
          - id: budget
            patterns: [какой у вас бюджет на ремонт]
          - id: exact_only
            semantic: false
            patterns: [какой у вас бюджет на ремонт]
"""))
LINES = [("manager", 0.0, 4.0, "Сколько денег вы готовы потратить на ремонт квартиры?"),
         ("client", 4.2, 6.0, "Тысяч пятьсот.")]


def trigram_encoder(texts: list[str]) -> np.ndarray:
    """A small real embedding: hashed character trigrams of the lemmas (stands in for a model)."""
    from callqa.scoring.text import lemmatize

    out = np.zeros((len(texts), 512), np.float32)
    for row, text in enumerate(texts):
        padded = " " + " ".join(lemmatize(text)) + " "
        for i in range(len(padded) - 2):
            out[row, zlib.crc32(padded[i:i + 3].encode()) % 512] += 1.0
    return out


def _score(options: ScoringOptions):
    return analyze_call(build_transcript(LINES), context=CallContext(), checklists=[CHECKLIST],
                        options=options).scorecards[0]


def test_semantic_matching_is_off_by_default() -> None:
    card = _score(ScoringOptions(use_default_classifier=False))
    assert card.item("budget").status == "failed"


def test_semantic_matching_passes_a_paraphrase_with_an_encoder() -> None:
    card = _score(ScoringOptions(use_default_classifier=False, semantic_encoder=trigram_encoder,
                                 semantic_threshold=0.3))
    budget = card.item("budget")
    assert budget.status == "passed" and "similar phrase" in budget.reason
    ev = budget.evidence[0]
    assert ev.method == "semantic" and ev.role == "manager" and 0.3 <= ev.score <= 1.0
    assert card.item("exact_only").status == "failed"  # items can opt out
    strict = _score(ScoringOptions(use_default_classifier=False, semantic_encoder=trigram_encoder,
                                   semantic_threshold=0.99))
    assert strict.item("budget").status == "failed"


@pytest.mark.skipif(importlib.util.find_spec("transformers") is not None, reason="transformers is installed")
def test_clear_error_without_transformers() -> None:
    load_transformers_encoder.cache_clear()
    with pytest.raises(SemanticUnavailableError, match=r"pip install 'callqa\[semantic\]'"):
        _score(ScoringOptions(use_default_classifier=False, semantic_model="some/model"))


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="transformers is not installed")
def test_clear_error_for_a_missing_model(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    load_transformers_encoder.cache_clear()
    with pytest.raises(SemanticUnavailableError, match="cannot load sentence-embedding model"):
        load_transformers_encoder(str(tmp_path))  # an empty folder: no config, no weights
