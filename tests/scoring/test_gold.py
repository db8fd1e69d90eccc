"""Gold-call candidates: high score, lead/upsell, positive outcome, no critical failure."""

from __future__ import annotations

import textwrap

import pytest
from callqa.scoring import CallContext, ScoringOptions, analyze_call, gold_candidate, parse_checklist
from scoring_helpers import GOOD_INBOUND, build_transcript

CHECKLIST = parse_checklist(textwrap.dedent("""\
    id: mini
    version: "3"
    stages:
      - id: contact
        items:
          - id: greeting
            patterns: [добрый день]
      - id: closing
        items:
          - id: agreed
            critical: true
            patterns: [договорились]
"""))


def _analysis(lines):
    return analyze_call(build_transcript(lines), context=CallContext(direction="inbound"), checklists=[CHECKLIST],
                        options=ScoringOptions(use_default_classifier=False))


def test_candidate_with_reasons() -> None:
    analysis = _analysis(GOOD_INBOUND)
    card = analysis.scorecards[0]
    gold = gold_candidate(card, {"call_class": "lead", "outcome": "sale"}, analysis.metrics)
    assert gold is not None
    assert (gold.checklist_id, gold.checklist_version, gold.score) == ("mini", "3", 100.0)
    assert gold.reasons[0].startswith("score 100 ≥ 85 on mini v3 (2 of 2 items passed)")
    assert "class lead" in gold.reasons and "outcome sale" in gold.reasons
    assert "no critical item failed" in gold.reasons
    assert any(r.startswith("manager talk share") for r in gold.reasons)
    assert list(gold.to_dict()["reasons"]) == list(gold.reasons)


@pytest.mark.parametrize("classification", [
    {"call_class": "service", "outcome": "sale"},
    {"call_class": "lead", "outcome": "refusal"},
    {"class": "spam", "outcome": "none"},
    None,
])
def test_not_a_candidate_for_other_classes_or_outcomes(classification) -> None:
    analysis = _analysis(GOOD_INBOUND)
    assert gold_candidate(analysis.scorecards, classification, analysis.metrics) is None


def test_critical_failure_or_low_score_blocks() -> None:
    no_deal = [line for line in GOOD_INBOUND if not line[3].startswith("Договорились")]
    analysis = _analysis(no_deal)
    assert analysis.scorecards[0].critical_failures == ("agreed",)
    assert gold_candidate(analysis.scorecards, {"call_class": "upsell", "outcome": "next_step"}) is None
    assert gold_candidate(analysis.scorecards, {"call_class": "lead", "outcome": "sale"}, min_score=0) is None
    with pytest.raises(ValueError, match="min_score"):
        gold_candidate(analysis.scorecards, {"call_class": "lead", "outcome": "sale"}, min_score=101)
