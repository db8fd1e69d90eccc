"""Scorecards from analyze_call: verdicts with evidence, windows, critical caps, versions, bad input."""

from __future__ import annotations

import json
import sys
import textwrap
from dataclasses import dataclass

import pytest
from callqa.scoring import (
    CallAnalysis,
    CallContext,
    ScoringOptions,
    analyze_call,
    load_checklist,
    load_checklists,
    parse_checklist,
)
from callqa.scoring import analyze as analyze_module
from scoring_helpers import GOOD_INBOUND, build_transcript

from callqa.types import Transcript

NO_CLASSIFIER = ScoringOptions(use_default_classifier=False)
INBOUND = CallContext(direction="inbound", company_names=("Альфа Строй",), manager_name="Ирина",
                      lead_form_left=True)


def _analyze(lines, context=INBOUND, checklists=None, options=NO_CLASSIFIER, **kwargs) -> CallAnalysis:
    transcript = lines if isinstance(lines, Transcript) else build_transcript(lines)
    return analyze_call(transcript, context=context,
                        checklists=checklists if checklists is not None else [load_checklist("inbound_lead")],
                        options=options, **kwargs)


def _check_invariants(analysis: CallAnalysis, transcript: Transcript) -> None:
    duration = max([transcript.duration_s] + [s.end_s for s in transcript.segments])
    for card in analysis.scorecards:
        assert card.total_score is None or 0.0 <= card.total_score <= 100.0
        for verdict in card.items:
            assert verdict.reason, verdict
            assert verdict.status in ("passed", "failed", "not_applicable")
            for ev in verdict.evidence:
                assert 0.0 <= ev.start_s <= ev.end_s <= duration + 1e-6
                assert ev.quote and ev.role in ("manager", "client", "unknown")
                if ev.method == "lemma":  # the quoted segment contains the matched words
                    assert ev.matched.split()[0] in ev.quote.lower().replace("ё", "е")
        for stage in card.stages:
            assert stage.score is None or 0.0 <= stage.score <= 100.0
    json.dumps(analysis.to_dict(), ensure_ascii=False, allow_nan=False)


def test_good_inbound_call_scores_high_with_evidence() -> None:
    transcript = build_transcript(GOOD_INBOUND)
    analysis = _analyze(transcript)
    _check_invariants(analysis, transcript)
    card = analysis.scorecard("inbound_lead")
    assert (card.checklist_id, card.checklist_version) == ("inbound_lead", "1.1")
    assert card.total_score is not None and card.total_score >= 85
    assert not card.critical_failures and not card.capped
    greeting = card.item("greeting")
    assert greeting.status == "passed"
    ev = greeting.evidence[0]
    assert ev.matched == "добрый день" and ev.role == "manager" and ev.speaker == "S0"
    assert 0.5 <= ev.start_s < ev.end_s <= 5.0
    assert "Альфа Строй" in card.item("company_named").evidence[0].quote
    assert card.item("next_step_time").evidence[0].method == "regex"
    objection = card.item("objection_handled")
    assert objection.status == "passed"
    assert [e.role for e in objection.evidence] == ["manager", "client"]  # answer, then the trigger
    assert objection.evidence[0].start_s > objection.evidence[1].start_s
    assert card.item("no_rudeness").status == "passed" and not card.item("no_rudeness").evidence
    assert {s.stage_id for s in card.stages} >= {"contact", "needs", "presentation", "objections", "closing"}


def test_missing_critical_item_caps_the_total() -> None:
    lines = [line for line in GOOD_INBOUND if not line[3].startswith("Договорились")]
    lines.append(("manager", 60.3, 64.0, "Хорошо, подумайте ещё."))
    card = _analyze(lines).scorecard("inbound_lead")
    assert card.item("next_step_agreed").status == "failed"
    assert card.critical_failures == ("next_step_agreed",)
    assert card.raw_score is not None and card.raw_score > 40
    assert card.total_score == 40.0 and card.capped
    assert "critical_failure" in card.flags
    # the cap is configurable (ScoringOptions) when the checklist does not set its own
    checklist = parse_checklist(textwrap.dedent("""\
        id: mini
        version: 1
        stages:
          - id: closing
            items:
              - id: agreed
                critical: true
                patterns: [договорились]
              - id: bye
                patterns: [всего доброго]
    """))
    capped = _analyze(lines, checklists=[checklist], options=ScoringOptions(critical_cap=20,
                                                                            use_default_classifier=False))
    assert capped.scorecards[0].raw_score == 50.0 and capped.scorecards[0].total_score == 20.0


def test_forbidden_phrase_fails_with_the_quote() -> None:
    lines = list(GOOD_INBOUND) + [("manager", 73.5, 76.0, "Я же вам сказал, это ваши проблемы.")]
    card = _analyze(lines).scorecard("inbound_lead")
    rude = card.item("no_rudeness")
    assert rude.status == "failed" and rude.critical
    assert rude.evidence[0].matched.startswith("я же вам сказал")
    assert rude.evidence[0].start_s >= 73.5
    assert card.total_score == 40.0


def test_false_request_reference_depends_on_the_lead_form() -> None:
    cold = load_checklist("outbound_cold")
    lines = [
        ("manager", 0.5, 6.0, "Добрый день, меня зовут Олег, компания Бета, звонок носит рекламный характер."),
        ("manager", 6.2, 9.0, "Вы оставляли заявку на нашем сайте, удобно говорить?"),
        ("client", 9.3, 10.0, "Да."),
    ]
    for lead_form_left, status in ((False, "failed"), (True, "not_applicable"), (None, "not_applicable")):
        context = CallContext(direction="outbound", company_names=("Бета",), lead_form_left=lead_form_left)
        verdict = _analyze(lines, context=context, checklists=[cold]).scorecards[0].item("no_false_request")
        assert verdict.status == status, (lead_form_left, verdict)
    context = CallContext(direction="outbound", lead_form_left=False)
    verdict = _analyze(lines, context=context, checklists=[cold]).scorecards[0].item("no_false_request")
    assert "оставлял" in verdict.evidence[0].matched


def test_advertising_disclosure_must_come_at_the_start() -> None:
    cold = load_checklist("outbound_cold")
    context = CallContext(direction="outbound", company_names=("Бета",))
    early = [
        ("manager", 0.5, 3.0, "Здравствуйте, это рекламный звонок."),
        ("manager", 3.2, 6.0, "Меня зовут Олег, компания Бета."),
        ("client", 6.2, 7.0, "Слушаю."),
    ]
    late = [
        ("manager", 0.5, 3.0, "Здравствуйте, меня зовут Олег, компания Бета."),
        ("client", 3.2, 60.0, "Слушаю вас внимательно " * 20),
        ("manager", 60.5, 63.0, "Кстати, это рекламный звонок."),
    ]
    ok = _analyze(early, context=context, checklists=[cold]).scorecards[0]
    assert ok.item("advertising_disclosure").status == "passed"
    bad = _analyze(late, context=context, checklists=[cold]).scorecards[0]
    disclosure = bad.item("advertising_disclosure")
    assert disclosure.status == "failed" and "first 40 s" in disclosure.reason
    assert "advertising_disclosure" in bad.critical_failures


def test_fuzzy_tolerance_for_asr_errors_and_speaker_matters() -> None:
    checklist = parse_checklist(textwrap.dedent("""\
        id: fuzzy
        version: 1
        stages:
          - id: contact
            items:
              - id: greeting
                patterns: [здравствуйте]
              - id: company
                patterns: [рекламный характер]
              - id: client_says
                speaker: client
                patterns: [спасибо большое]
    """))
    lines = [
        ("manager", 0.0, 2.0, "Здраствуйте!"),  # typical ASR misspelling
        ("manager", 2.0, 5.0, "Звонок носит рекламны характер."),
        ("client", 5.2, 6.0, "Ага."),
        ("manager", 6.1, 8.0, "Спасибо большое."),  # said by the manager, not the client
    ]
    card = _analyze(lines, checklists=[checklist]).scorecards[0]
    assert card.item("greeting").status == "passed"
    assert card.item("greeting").evidence[0].score < 1.0
    assert card.item("company").status == "passed"
    assert card.item("client_says").status == "failed"


def test_rescoring_with_a_new_version_keeps_both() -> None:
    v1 = textwrap.dedent("""\
        id: mini
        version: "1"
        stages:
          - id: contact
            items:
              - id: greeting
                patterns: [добрый день]
    """)
    v2 = v1.replace('version: "1"', 'version: "2"') + "      - id: name\n        patterns: [меня зовут]\n"
    analysis = _analyze(GOOD_INBOUND, checklists=[parse_checklist(v1), parse_checklist(v2)])
    assert [(c.checklist_id, c.checklist_version) for c in analysis.scorecards] == [("mini", "1"), ("mini", "2")]
    assert [len(c.items) for c in analysis.scorecards] == [1, 2]
    data = analysis.to_dict()
    assert [c["checklist_version"] for c in data["scorecards"]] == ["1", "2"]


def test_empty_transcript_gives_a_scorecard_that_says_so() -> None:
    empty = Transcript(segments=(), duration_s=12.0)
    analysis = _analyze(empty, checklists=load_checklists(), context=CallContext(direction="inbound"))
    assert analysis.flags == ("empty_transcript",)
    assert analysis.scorecards
    for card in analysis.scorecards:
        assert card.total_score is None
        assert "empty_transcript" in card.flags and card.notes
        assert all(v.status == "not_applicable" for v in card.items)
    assert analysis.metrics.speakers == ()
    assert analysis.gold is None
    json.dumps(analysis.to_dict(), allow_nan=False)


def test_one_speaker_call() -> None:
    lines = [("manager", 0.0, 4.0, "Добрый день, компания Альфа Строй, меня зовут Ирина. Алло? Вас не слышно.")]
    transcript = build_transcript(lines)
    analysis = _analyze(transcript)
    _check_invariants(analysis, transcript)
    card = analysis.scorecards[0]
    assert "one_speaker" in card.flags and analysis.flags == ("one_speaker",)
    assert card.item("greeting").status == "passed"
    assert card.item("objection_handled").status == "not_applicable"  # the client never spoke
    assert card.total_score is not None


def test_checklist_that_matches_nothing() -> None:
    lines = [("manager", 0.0, 3.0, "Алло, слышите меня?"), ("client", 3.5, 5.0, "Нет, ошиблись номером.")]
    card = _analyze(lines).scorecards[0]
    assert "nothing_matched" in card.flags
    assert card.total_score is not None and card.total_score < 30
    assert card.item("greeting").status == "failed"


def test_roles_from_the_transcript_speaker_map_and_unknown_roles() -> None:
    mapped = build_transcript(GOOD_INBOUND, roles_on_segments=False)
    card = _analyze(mapped).scorecards[0]
    assert card.item("greeting").evidence[0].role == "manager"
    unknown = build_transcript([("unknown", 0.0, 3.0, "Добрый день, меня зовут Ирина.")])
    card = _analyze(unknown).scorecards[0]
    assert "roles_unknown" in card.flags
    assert card.item("greeting").status == "passed"


def test_company_placeholder_without_a_company_is_not_applicable() -> None:
    card = _analyze(GOOD_INBOUND, context=CallContext(direction="inbound")).scorecards[0]
    verdict = card.item("company_named")
    assert verdict.status == "not_applicable" and "company" in verdict.reason


@dataclass(frozen=True)
class _Classification:
    call_class: str
    outcome: str
    class_probs: dict
    outcome_probs: dict
    callback_due: object = None


class _FixedClassifier:
    """Test double for the classifier interface: returns a given class for every call."""

    def __init__(self, call_class: str, outcome: str) -> None:
        self.result = _Classification(call_class, outcome, {call_class: 1.0}, {outcome: 1.0})
        self.calls = 0

    def predict(self, transcript, metrics):
        assert metrics.speakers  # metrics are computed before classification
        self.calls += 1
        return self.result


def test_checklists_apply_by_direction_and_class() -> None:
    checklists = load_checklists()
    lead = _FixedClassifier("lead", "next_step")
    analysis = _analyze(GOOD_INBOUND, checklists=checklists, classifier=lead)
    assert lead.calls == 1
    assert [c.checklist_id for c in analysis.scorecards] == ["inbound_lead"]
    skipped = {s["checklist_id"]: s["reason"] for s in analysis.skipped_checklists}
    assert "direction is inbound" in skipped["outbound_cold"]
    assert "call class is lead" in skipped["upsell_service"]
    assert analysis.classification.call_class == "lead"
    assert analysis.to_dict()["classification"]["call_class"] == "lead"
    upsell = _analyze(GOOD_INBOUND, checklists=checklists, classifier=_FixedClassifier("upsell", "sale"))
    assert [c.checklist_id for c in upsell.scorecards] == ["upsell_service"]
    # without a class, class filters apply by default and skip with unknown_policy="skip"
    both = _analyze(GOOD_INBOUND, checklists=checklists)
    assert [c.checklist_id for c in both.scorecards] == ["inbound_lead", "upsell_service"]
    strict = _analyze(GOOD_INBOUND, checklists=checklists,
                      options=ScoringOptions(unknown_policy="skip", use_default_classifier=False))
    assert strict.scorecards == [] and len(strict.skipped_checklists) == 3


def test_gold_candidate_comes_out_of_analyze_call() -> None:
    analysis = _analyze(GOOD_INBOUND, classifier=_FixedClassifier("lead", "next_step"))
    assert analysis.gold is not None
    assert analysis.gold.checklist_id == "inbound_lead"
    assert any("outcome next_step" in r for r in analysis.gold.reasons)
    refused = _analyze(GOOD_INBOUND, classifier=_FixedClassifier("lead", "refusal"))
    assert refused.gold is None


def test_missing_classifier_module_is_tolerated(monkeypatch: pytest.MonkeyPatch) -> None:
    analyze_module._default_classifier.cache_clear()
    monkeypatch.setitem(sys.modules, "callqa.scoring.classify", None)  # import now raises ImportError
    try:
        analysis = _analyze(GOOD_INBOUND, options=ScoringOptions())
        assert analysis.classification is None and analysis.scorecards
    finally:
        analyze_module._default_classifier.cache_clear()


def test_bad_arguments_raise_value_errors() -> None:
    transcript = build_transcript(GOOD_INBOUND)
    with pytest.raises(ValueError, match="Transcript"):
        analyze_call({"segments": []}, context=INBOUND, checklists=[])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Checklist objects"):
        analyze_call(transcript, context=INBOUND, checklists=["inbound_lead"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="direction"):
        CallContext(direction="sideways")
    with pytest.raises(ValueError, match="unknown_policy"):
        ScoringOptions(unknown_policy="maybe")
    with pytest.raises(ValueError, match="critical_cap"):
        ScoringOptions(critical_cap=150)
    with pytest.raises(ValueError, match="audio"):
        analyze_call(transcript, context=INBOUND, checklists=[], audio=__import__("numpy").zeros((2, 2, 2)),
                     options=NO_CLASSIFIER)


def test_objection_answer_counts_after_the_earliest_trigger() -> None:
    checklist = load_checklist("inbound_lead")
    lines = [
        ("manager", 0.0, 3.0, "Добрый день, компания Альфа Строй."),
        ("client", 3.5, 6.0, "Я подумаю, наверное."),
        ("manager", 6.5, 9.0, "Понимаю вас, давайте посчитаем вместе."),
        ("client", 9.5, 11.0, "Всё равно дорого."),
    ]
    verdict = _analyze(lines, checklists=[checklist]).scorecards[0].item("objection_handled")
    assert verdict.status == "passed"
    assert verdict.evidence[1].matched == "я подумаю" and verdict.evidence[1].start_s == 3.5
    no_answer = _analyze(lines[:2], checklists=[checklist]).scorecards[0].item("objection_handled")
    assert no_answer.status == "failed" and "after the client's 'я подумаю'" in no_answer.reason


@pytest.mark.shared_data
def test_real_call_with_audio_end_to_end(shared_data) -> None:
    """A real (English) phone call: nothing of a Russian script matches, nothing crashes."""
    import numpy as np
    from scipy.io import wavfile

    folder = shared_data / "pyannote-sample-call"
    rate, samples = wavfile.read(folder / "sample.wav")
    lines = []
    for row in (folder / "sample.stm").read_text().splitlines():
        _, _, who, start, end, *text = row.split()
        lines.append(("manager" if who == "Diane" else "client", float(start), float(end), " ".join(text)))
    transcript = build_transcript(lines, duration_s=30.0)
    analysis = analyze_call(transcript, context=CallContext(direction="inbound"), checklists=load_checklists(),
                            audio=samples.astype(np.float32) / 32768.0, sample_rate_hz=rate, options=NO_CLASSIFIER)
    _check_invariants(analysis, transcript)
    assert analysis.scorecards and all("nothing_matched" in c.flags for c in analysis.scorecards)
    assert analysis.metrics.speaker("manager").pitch_mean_hz is not None
    assert analysis.pii_spans == []
