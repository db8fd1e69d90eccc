"""Call classifier: shipped artifact, held-out quality, fast path, callback due, loading errors, training."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from callqa.scoring.classify import (
    DEFAULT_CORPUS_DIR,
    DEFAULT_MODEL_DIR,
    CallClassifier,
    Classification,
    ClassifierLoadError,
    _reorder,
    evaluate,
    expected_calibration_error,
    load_classifier,
    load_corpus,
    load_default_classifier,
)
from callqa.scoring.features import (
    CallDocument,
    client_closing_analyzer,
    closing_analyzer,
    closing_lemma,
    document_from_record,
    document_from_transcript,
)
from scoring_helpers import build_transcript
from typer.testing import CliRunner

from callqa.types import CALL_CLASSES, OUTCOMES, Transcript

LEAD_CALLBACK = [
    ("manager", 0.0, 3.0, "Добрый день, компания ОкнаСтрой, меня зовут Вера, слушаю вас."),
    ("client", 3.2, 8.0, "Здравствуйте, хотим поменять окна в квартире, два окна и балкон, сколько это будет стоить?"),
    ("manager", 8.2, 12.0, "Подскажите, дом панельный или кирпичный, какой этаж?"),
    ("client", 12.1, 15.0, "Панельный, пятый этаж."),
    ("manager", 15.2, 20.0, "Окно с монтажом под ключ около двадцати пяти тысяч, балкон посчитает замерщик."),
    ("client", 20.1, 24.0, "Мне надо с мужем посоветоваться, перезвоните мне завтра, пожалуйста."),
    ("manager", 24.1, 27.0, "Хорошо, наберу вас завтра, всего доброго."),
]
SPAM_ROBOT = [
    ("manager", 0.0, 2.0, "Алло, компания АвтоПлюс, слушаю."),
    ("client", 2.1, 9.0, "Здравствуйте! Вам предварительно одобрен кредит до трехсот тысяч рублей. Для получения нажмите единицу."),
    ("manager", 9.1, 10.0, "Алло? Это робот?"),
    ("client", 10.1, 13.0, "Для связи с оператором оставайтесь на линии."),
]
SERVICE = [
    ("manager", 0.0, 2.0, "Стоматология Улыбка, администратор Ольга, здравствуйте."),
    ("client", 2.1, 7.0, "Здравствуйте, я у вас лечусь, мне поставили пломбу позавчера, а зуб все еще болит."),
    ("manager", 7.1, 10.0, "Назовите, пожалуйста, фамилию, посмотрю вашу карту."),
    ("client", 10.1, 11.0, "Сидорова."),
    ("manager", 11.1, 16.0, "Вижу, давайте вы придете завтра в десять к вашему врачу, посмотрим бесплатно по гарантии."),
    ("client", 16.1, 17.0, "Хорошо, приду."),
]


@pytest.fixture(scope="module")
def classifier() -> CallClassifier:
    return load_default_classifier()


@pytest.fixture(scope="module")
def heldout() -> list[dict]:
    return load_corpus(DEFAULT_CORPUS_DIR / "heldout.jsonl")


def test_shipped_artifact_has_model_card_and_metadata() -> None:
    assert (DEFAULT_MODEL_DIR / "model.joblib").is_file()
    card = (DEFAULT_MODEL_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    for needle in ("macro-F1", "Confusion matrix", "Intended use", "Limits", "held-out"):
        assert needle in card
    meta = json.loads((DEFAULT_MODEL_DIR / "metadata.json").read_text(encoding="utf-8"))
    assert meta["classes"] == list(CALL_CLASSES) and meta["outcomes"] == list(OUTCOMES)
    assert meta["heldout"]["call_class"]["macro_f1"] >= 0.90


def test_default_classifier_is_cached(classifier: CallClassifier) -> None:
    assert load_default_classifier() is classifier


def test_heldout_macro_f1_meets_target(classifier: CallClassifier, heldout: list[dict]) -> None:
    report = evaluate(classifier, heldout)
    assert report.n_calls == len(heldout) >= 200
    assert report.call_class.macro_f1 >= 0.90
    assert report.outcome.macro_f1 >= 0.85
    assert report.callback_due_accuracy is not None and report.callback_due_accuracy >= 0.8
    assert report.class_ece is not None and report.class_ece < 0.1
    assert report.outcome_ece is not None and report.outcome_ece < 0.1


def test_unseen_handwritten_calls_are_mostly_right(classifier: CallClassifier) -> None:
    """Calls written by hand outside the phrase banks (never trained on): a floor, not the claim
    (the card reports the figures)."""
    records = load_corpus(DEFAULT_CORPUS_DIR / "unseen_handwritten.jsonl")
    assert len(records) >= 40
    train_ids = {r["id"] for r in load_corpus(DEFAULT_CORPUS_DIR / "train.jsonl")}
    assert not train_ids & {r["id"] for r in records}
    report = evaluate(classifier, records)
    assert report.call_class.accuracy >= 0.75 and report.outcome.accuracy >= 0.8


def test_shipped_model_is_temperature_calibrated() -> None:
    meta = json.loads((DEFAULT_MODEL_DIR / "metadata.json").read_text(encoding="utf-8"))
    temps = meta["temperatures"]
    assert len(temps) == 2 and all(0.2 <= t <= 8.0 for t in temps)


def test_expected_calibration_error() -> None:
    assert expected_calibration_error([1.0, 1.0], [True, True]) == 0.0
    assert expected_calibration_error([0.9, 0.9], [False, False]) == pytest.approx(0.9)
    assert expected_calibration_error([0.55, 0.55, 0.55, 0.55], [True, False, True, False]) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        expected_calibration_error([], [])


def test_swapped_roles_keep_the_class(classifier: CallClassifier) -> None:
    """A diarization that swaps manager and client (as in the demo robot call) keeps spam spam."""
    doc = document_from_transcript(build_transcript(SPAM_ROBOT)).with_roles_swapped()
    assert {r for r, _ in doc.turns} == {"manager", "client"} and doc.turns[0][0] == "client"
    assert classifier.predict_documents([doc])[0].call_class == "spam"


def test_spam_outcome_is_none_by_definition(classifier: CallClassifier) -> None:
    """Outcome probabilities are marginalised over the spam class (spam => none)."""
    result = classifier.predict(build_transcript(SPAM_ROBOT))
    assert result.outcome == "none"
    assert result.outcome_probs["none"] >= result.class_probs["spam"] - 1e-3
    assert abs(sum(result.outcome_probs.values()) - 1.0) < 1e-3


def test_client_closing_block_reads_only_the_client() -> None:
    doc = CallDocument((("manager", "добрый день"), ("client", "сколько стоит"), ("manager", "десять тысяч"),
                        ("client", "нет спасибо не надо"), ("manager", "хорошо всего доброго")))
    terms = client_closing_analyzer(doc)
    assert "надо" in terms and "нет спасибо" in terms
    assert "доброе" not in terms and "хороший" not in terms and "десять" not in terms
    assert client_closing_analyzer(doc.without_roles()) == []


def test_closing_keeps_who_promises_the_call() -> None:
    assert closing_lemma("перезвоню") == "перезвонить~1"
    assert closing_lemma("перезвоните") == "перезвонить~imp"
    assert closing_lemma("окна") == "окно"
    doc = CallDocument(tuple(("manager" if i % 2 else "client", f"реплика номер {i}") for i in range(10))
                       + (("manager", "я вам перезвоню завтра"),))
    closing = closing_analyzer(doc)
    assert "перезвонить~1" in closing and "завтра" in closing
    assert "номер" in closing  # the closing is the last 40% of the turns, not only the last one


def test_prediction_shape_and_probabilities(classifier: CallClassifier) -> None:
    result = classifier.predict(build_transcript(LEAD_CALLBACK))
    assert isinstance(result, Classification)
    assert set(result.class_probs) == set(CALL_CLASSES) and set(result.outcome_probs) == set(OUTCOMES)
    assert abs(sum(result.class_probs.values()) - 1.0) < 1e-3
    assert abs(sum(result.outcome_probs.values()) - 1.0) < 1e-3
    assert result.call_class == max(result.class_probs, key=result.class_probs.get)
    assert result.model_version.startswith("call-classifier/v2")
    json.dumps(result.to_dict(), ensure_ascii=False)


def test_hand_written_calls(classifier: CallClassifier) -> None:
    lead = classifier.predict(build_transcript(LEAD_CALLBACK))
    assert (lead.call_class, lead.outcome) == ("lead", "callback")
    assert lead.callback_due_text == "завтра" and lead.callback_due_days == 1.0
    assert lead.callback_due_at(datetime(2026, 11, 25, 11, 0)) == datetime(2026, 11, 26, 18, 0)
    assert classifier.predict(build_transcript(SPAM_ROBOT)).call_class == "spam"
    service = classifier.predict(build_transcript(SERVICE))
    assert service.call_class == "service"


def test_weekday_due_days_need_the_start_time(classifier: CallClassifier) -> None:
    lines = LEAD_CALLBACK[:-2] + [
        ("client", 20.1, 24.0, "Сейчас не могу решить, наберите меня в понедельник."),
        ("manager", 24.1, 27.0, "Договорились, позвоню в понедельник, до свидания."),
    ]
    transcript = build_transcript(lines)
    without = classifier.predict(transcript)
    assert without.outcome == "callback" and without.callback_due_text == "в понедельник"
    assert without.callback_due_days is None
    with_start = classifier.predict(transcript, started_at=datetime(2026, 11, 27, 10, 0))  # a Friday
    assert with_start.callback_due_days == pytest.approx(3 + 8 / 24)


def test_unknown_roles_and_plain_text(classifier: CallClassifier) -> None:
    diarized = build_transcript(LEAD_CALLBACK, roles_on_segments=False)
    assert document_from_transcript(diarized).roles_known  # roles come from Transcript.roles
    stripped = Transcript(segments=tuple(s.__class__(**{**s.__dict__, "role": "unknown", "speaker": None})
                                         for s in diarized.segments))
    assert not document_from_transcript(stripped).roles_known
    assert classifier.predict(stripped).call_class == "lead"
    text = " ".join(line[3] for line in LEAD_CALLBACK)
    plain = classifier.predict_text(text)
    assert plain.call_class == "lead" and plain.outcome == "callback"


def test_empty_transcript_gives_a_valid_result(classifier: CallClassifier) -> None:
    result = classifier.predict(Transcript(segments=()))
    assert result.call_class in CALL_CLASSES and result.callback_due_text is None


def test_fast_path_matches_sklearn_pipeline(classifier: CallClassifier, heldout: list[dict]) -> None:
    docs = [document_from_record(r) for r in heldout[:40]]
    docs.append(CallDocument((("unknown", " ".join(d.text for d in docs[:10])),)))
    fast_class, fast_outcome = classifier._proba(docs[:8])
    fast = [classifier._proba([d]) for d in docs]
    heads = classifier.backend.named_steps["heads"].estimators_
    class_p, outcome_p = classifier.backend.predict_proba(docs)
    np.testing.assert_allclose(np.vstack([f[0] for f in fast]), _reorder(class_p, heads[0].classes_, CALL_CLASSES), atol=1e-9)
    np.testing.assert_allclose(np.vstack([f[1] for f in fast]), _reorder(outcome_p, heads[1].classes_, OUTCOMES), atol=1e-9)
    np.testing.assert_allclose(fast_class, _reorder(class_p[:8], heads[0].classes_, CALL_CLASSES), atol=1e-9)


def test_bad_inputs(classifier: CallClassifier) -> None:
    with pytest.raises(ValueError):
        classifier.predict("not a transcript")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        classifier.predict_text(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        CallDocument((("boss", "text"),))


def test_missing_artifact_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ClassifierLoadError, match="callqa train classifier"):
        load_classifier(tmp_path / "nowhere")


def test_sklearn_version_mismatch_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    meta = json.loads((target / "metadata.json").read_text(encoding="utf-8"))
    meta["sklearn_version"] = "0.24.2"
    (target / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ClassifierLoadError, match="scikit-learn 0.24.2"):
        load_classifier(target)


def test_corrupt_artifact_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    (target / "model.joblib").write_bytes(b"not a pickle")
    with pytest.raises(ClassifierLoadError, match="cannot load"):
        load_classifier(target)


def _small_corpus(tmp_path: Path, per_class: int) -> Path:
    out = tmp_path / "corpus"
    out.mkdir()
    for name, n in (("train.jsonl", per_class), ("heldout.jsonl", max(2, per_class // 3)),
                    ("calibration.jsonl", max(2, per_class // 3))):
        records = load_corpus(DEFAULT_CORPUS_DIR / name)
        picked = [r for c in CALL_CLASSES for r in [x for x in records if x["call_class"] == c][:n]]
        (out / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in picked), encoding="utf-8")
    return out


def test_cli_trains_evaluates_and_writes_artifact(tmp_path: Path) -> None:
    from callqa.cli_train import train_app

    corpus = _small_corpus(tmp_path, per_class=12)
    out = tmp_path / "model"
    result = CliRunner().invoke(train_app, ["classifier", "--corpus", str(corpus), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.output
    assert (out / "model.joblib").is_file() and (out / "MODEL_CARD.md").is_file()
    model = load_classifier(out)
    assert model.metadata["n_train"] == 60
    assert len(model.metadata["temperatures"]) == 2  # calibration.jsonl in the corpus folder
    assert model.predict(build_transcript(SPAM_ROBOT)).call_class in CALL_CLASSES


def test_cli_rejects_unknown_backend(tmp_path: Path) -> None:
    from callqa.cli_train import train_app

    result = CliRunner().invoke(train_app, ["classifier", "--backend", "svm", "--out", str(tmp_path / "m")])
    assert result.exit_code == 2 and "sklearn, transformers" in result.output


def test_transformers_backend_tiny_from_scratch(tmp_path: Path) -> None:
    pytest.importorskip("transformers", reason="optional 'semantic' extra not installed")
    from callqa.scoring.classify import TrainOptions, train_classifier

    corpus = _small_corpus(tmp_path, per_class=6)
    out = tmp_path / "tf"
    result = train_classifier(corpus, out, TrainOptions(backend="transformers", epochs=1, max_length=64))
    assert result.report.n_calls == 10
    loaded = load_classifier(out)
    transcript = build_transcript(LEAD_CALLBACK)
    a, b = result.classifier.predict(transcript), loaded.predict(transcript)
    assert a.class_probs == b.class_probs and a.outcome_probs == b.outcome_probs
    assert abs(sum(a.class_probs.values()) - 1.0) < 1e-3
    assert "transformers" in loaded.model_version
