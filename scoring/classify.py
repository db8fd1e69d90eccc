"""Call class (lead, non_target, spam, upsell, service) and outcome (sale, next_step, callback,
refusal, none) with probabilities, plus the callback due time.

Default backend: a scikit-learn pipeline (lemma TF-IDF via pymorphy3 + character n-grams +
dialogue features -> one logistic regression head per target), trained by
``callqa train classifier`` on the shipped corpus (scoring/corpus) and saved under
models/call-classifier/<version>/ with a metadata file and a model card. An optional transformers
backend fine-tunes an encoder (see :mod:`callqa.scoring.classify_transformers`).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from callqa.scoring.dates import DueExpression, resolve_due
from callqa.scoring.features import (
    CallDocument,
    DialogueFeatures,
    WeightedScaler,
    char_ngram_analyzer,
    client_closing_analyzer,
    closing_analyzer,
    document_from_record,
    document_from_transcript,
    lemma_analyzer,
    opening_analyzer,
)
from callqa.scoring.outcome import find_callback_due

from callqa.types import CALL_CLASSES, OUTCOMES, Transcript

logger = logging.getLogger(__name__)

__all__ = [
    "BACKENDS", "CallClassifier", "Classification", "ClassifierLoadError", "EvaluationReport",
    "TrainOptions", "TrainResult", "DEFAULT_MODEL_DIR", "MODEL_VERSION", "evaluate", "expected_calibration_error",
    "load_classifier",
    "load_corpus", "load_default_classifier", "train_classifier",
]

MODEL_NAME = "call-classifier"
MODEL_VERSION = "v2"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL_DIR = REPO_ROOT / "models" / MODEL_NAME / MODEL_VERSION
DEFAULT_CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
ARTIFACT_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
CARD_FILE = "MODEL_CARD.md"
CALIBRATION_FILE = "calibration.jsonl"
# Hand-written calls beside the corpus, scored after training and never trained on.
EXTERNAL_CHECK_FILES = ("unseen_handwritten.jsonl", "unseen_blind.jsonl")
BACKENDS = ("sklearn", "transformers")


class ClassifierLoadError(RuntimeError):
    """The classifier artifact is missing, unreadable or built with an incompatible library."""


@dataclass(frozen=True)
class Classification:
    """Predicted class and outcome of one call.

    Attributes:
        call_class: one of ``callqa.types.CALL_CLASSES``.
        class_probs: probability per class (sums to 1).
        outcome: one of ``callqa.types.OUTCOMES``.
        outcome_probs: probability per outcome (sums to 1).
        callback_due_text: the due expression of the promised callback ("завтра", "до пятницы"),
            None when the outcome is not a callback or no due time was named.
        callback_due_days: days from the call's start to the due moment. Known without a start
            time for fixed offsets ("через час" = 0.0417) and day counts ("завтра" = 1.0, measured
            to the same clock time); weekday expressions need ``started_at`` at prediction time.
        model_version: e.g. ``call-classifier/v2 (sklearn 1.9.1)``.
    """

    call_class: str
    class_probs: dict[str, float]
    outcome: str
    outcome_probs: dict[str, float]
    callback_due_text: str | None = None
    callback_due_days: float | None = None
    model_version: str = ""

    def callback_due_at(self, started_at: datetime) -> datetime | None:
        """The callback due moment for a call that started at ``started_at`` (None without a due text)."""
        if not self.callback_due_text:
            return None
        return resolve_due(self.callback_due_text, started_at)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _due_days(expr: DueExpression, started_at: datetime | None) -> float | None:
    if started_at is not None:
        return expr.delta(started_at).total_seconds() / 86400.0
    if expr.kind == "offset" and expr.offset_s is not None:
        return expr.offset_s / 86400.0
    if expr.kind == "day" and expr.days_ahead is not None:
        return float(expr.days_ahead)
    return None


class _Backend(Protocol):
    def predict_proba_docs(self, docs: Sequence[CallDocument]) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class TrainOptions:
    """Training settings.

    Attributes:
        backend: ``sklearn`` (default) or ``transformers``.
        c: inverse regularisation of the logistic regression heads.
        dialogue_weight: scale of the dialogue features relative to the lexical blocks.
        role_dropout: share of training calls duplicated with unknown roles, and again as plain
            text, so the model also works without diarization roles.
        role_swap: share of training calls duplicated with manager and client swapped.
        client_closing_weight: weight of the client's-closing block relative to the other blocks
            (it sharpens refusals but also reads "нет, спасибо, это всё" as a decision).
        calibrate: when the corpus has ``calibration.jsonl`` (calls composed from the held-out
            phrase banks, never trained on), divide each head's weights by the temperature that
            minimises its log-loss there. Predictions (argmax) do not change, probabilities do.
        seed: random seed.
        encoder: transformers backend: local path or hub id of the encoder; None trains a tiny
            encoder from scratch (a test configuration, not for production).
        epochs, batch_size, learning_rate, max_length: transformers backend fine-tuning settings.
    """

    backend: str = "sklearn"
    c: float = 20.0
    dialogue_weight: float = 0.3
    role_dropout: float = 0.25
    role_swap: float = 0.1
    client_closing_weight: float = 1.0
    calibrate: bool = True
    seed: int = 13
    encoder: str | None = None
    epochs: int = 4
    batch_size: int = 16
    learning_rate: float = 5e-5
    max_length: int = 512

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend {self.backend!r} is not one of: {', '.join(BACKENDS)}")
        if self.dialogue_weight < 0:
            raise ValueError(f"dialogue_weight must be >= 0, got {self.dialogue_weight}")
        if self.c <= 0:
            raise ValueError(f"c must be > 0, got {self.c}")
        if not 0.0 <= self.role_dropout <= 1.0:
            raise ValueError(f"role_dropout must be within 0..1, got {self.role_dropout}")
        if self.client_closing_weight < 0:
            raise ValueError(f"client_closing_weight must be >= 0, got {self.client_closing_weight}")
        if not 0.0 <= self.role_swap <= 1.0:
            raise ValueError(f"role_swap must be within 0..1, got {self.role_swap}")
        if self.epochs < 1 or self.batch_size < 1 or self.max_length < 8:
            raise ValueError("epochs and batch_size must be >= 1 and max_length >= 8")


def build_pipeline(options: TrainOptions | None = None) -> Any:
    """The untrained sklearn pipeline: features -> one logistic regression per target."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multioutput import MultiOutputClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline

    options = options or TrainOptions()
    features = FeatureUnion([
        ("lemmas", TfidfVectorizer(analyzer=lemma_analyzer, sublinear_tf=True, min_df=2)),
        ("opening", TfidfVectorizer(analyzer=opening_analyzer, sublinear_tf=True, min_df=2)),
        ("closing", TfidfVectorizer(analyzer=closing_analyzer, sublinear_tf=True, min_df=2)),
        ("client_closing", TfidfVectorizer(analyzer=client_closing_analyzer, sublinear_tf=True, min_df=2)),
        ("chars", TfidfVectorizer(analyzer=char_ngram_analyzer, sublinear_tf=True, min_df=2, max_features=60000)),
        ("dialogue", Pipeline([("extract", DialogueFeatures()),
                                ("scale", WeightedScaler(weight=options.dialogue_weight))])),
    ], transformer_weights={"client_closing": options.client_closing_weight})
    head = LogisticRegression(C=options.c, max_iter=3000, class_weight="balanced", random_state=options.seed)
    return Pipeline([("features", features), ("heads", MultiOutputClassifier(head))])


class CallClassifier:
    """Predicts call class, outcome and callback due time for transcripts.

    Use :func:`load_default_classifier` or :func:`load_classifier`; :func:`train_classifier`
    builds a new one.
    """

    def __init__(self, backend: Any, *, classes: Sequence[str], outcomes: Sequence[str],
                 model_version: str, metadata: Mapping[str, Any] | None = None) -> None:
        self.backend = backend
        self.classes = tuple(classes)
        self.outcomes = tuple(outcomes)
        self.model_version = model_version
        self.metadata = dict(metadata or {})
        self._fast: _FastLinear | None = None
        if hasattr(backend, "named_steps") and "features" in backend.named_steps:
            try:
                self._fast = _FastLinear(backend)
            except ValueError as exc:  # a pipeline of another shape: sklearn's own predict_proba is used
                logger.warning("fast path disabled: %s", exc)

    # -- prediction ---------------------------------------------------------------------------
    def _proba(self, docs: Sequence[CallDocument]) -> tuple[np.ndarray, np.ndarray]:
        if hasattr(self.backend, "predict_proba_docs"):
            return self.backend.predict_proba_docs(docs)
        if self._fast is not None and len(docs) <= 8:
            rows = [self._fast.proba(doc) for doc in docs]
            return (np.vstack([_reorder(p[None, :], cls, self.classes) for (p, cls), _ in rows]),
                    np.vstack([_reorder(p[None, :], cls, self.outcomes) for _, (p, cls) in rows]))
        class_p, outcome_p = self.backend.predict_proba(list(docs))
        heads = self.backend.named_steps["heads"].estimators_
        return (_reorder(class_p, heads[0].classes_, self.classes),
                _reorder(outcome_p, heads[1].classes_, self.outcomes))

    def predict_documents(self, docs: Sequence[CallDocument], *,
                          started_at: Sequence[datetime | None] | None = None) -> list[Classification]:
        """Classify many calls at once (faster per call than :meth:`predict`)."""
        if not docs:
            return []
        starts = list(started_at) if started_at is not None else [None] * len(docs)
        if len(starts) != len(docs):
            raise ValueError(f"started_at has {len(starts)} entries for {len(docs)} calls")
        class_p, outcome_p = self._proba(docs)
        results = []
        for doc, cp, op, start in zip(docs, class_p, outcome_p, starts, strict=True):
            results.append(self._result(doc, cp, op, start))
        return results

    def predict(self, transcript: Transcript, metrics: Any = None, *,
                started_at: datetime | None = None) -> Classification:
        """Classify one call.

        Args:
            transcript: the call; segment roles manager/client are used when known, otherwise the
                model works on the unlabelled turns.
            metrics: the call's ``SpeechMetrics``; accepted so scorers can pass what they have,
                the shipped model reads only the transcript.
            started_at: the call's start; makes ``callback_due_days`` exact for weekday deadlines.

        Returns:
            The classification. An empty transcript is classified as ``spam`` candidates would be
            by the model (silent calls are in the corpus).
        """
        return self.predict_documents([document_from_transcript(transcript)], started_at=[started_at])[0]

    def predict_text(self, text: str, *, started_at: datetime | None = None) -> Classification:
        """Classify plain text without speaker turns."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        return self.predict_documents([CallDocument((("unknown", text),))], started_at=[started_at])[0]

    def _result(self, doc: CallDocument, class_p: np.ndarray, outcome_p: np.ndarray,
                started_at: datetime | None) -> Classification:
        if "spam" in self.classes and "none" in self.outcomes:
            # By definition a spam call has outcome none: P(outcome) = P(spam)*[none] + (1-P(spam))*head.
            p_spam = float(class_p[self.classes.index("spam")])
            outcome_p = (1.0 - p_spam) * np.asarray(outcome_p, dtype=np.float64)
            outcome_p[self.outcomes.index("none")] += p_spam
        class_probs = {c: round(float(p), 4) for c, p in zip(self.classes, class_p, strict=True)}
        outcome_probs = {o: round(float(p), 4) for o, p in zip(self.outcomes, outcome_p, strict=True)}
        call_class = self.classes[int(np.argmax(class_p))]
        outcome = self.outcomes[int(np.argmax(outcome_p))]
        due_text: str | None = None
        due_days: float | None = None
        if outcome == "callback":  # the due expression is only reported for a callback outcome
            expr = find_callback_due(doc)
            if expr is not None:
                due_text = expr.text
                due_days = _due_days(expr, started_at)
        return Classification(call_class=call_class, class_probs=class_probs, outcome=outcome,
                              outcome_probs=outcome_probs, callback_due_text=due_text,
                              callback_due_days=due_days, model_version=self.model_version)

    # -- persistence --------------------------------------------------------------------------
    def save(self, out_dir: str | Path) -> Path:
        """Write the artifact and its metadata into ``out_dir``; returns the artifact path."""
        import joblib
        import sklearn

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        if hasattr(self.backend, "save_pretrained"):
            self.backend.save_pretrained(out)
            artifact = out
        else:
            artifact = out / ARTIFACT_FILE
            joblib.dump(self.backend, artifact, compress=3)
        meta = dict(self.metadata)
        meta.update({"model_version": self.model_version, "classes": list(self.classes),
                     "outcomes": list(self.outcomes), "sklearn_version": sklearn.__version__})
        (out / METADATA_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return artifact


class _FastLinear:
    """The fitted sklearn pipeline's arithmetic for one call at a time, without sklearn's per-call
    validation overhead and without building n-gram strings: vocabulary indices are cached per word
    and looked up per lemma pair. Same numbers as ``predict_proba`` (sublinear TF-IDF per block, l2
    normalisation, scaled dialogue features, softmax per head); a test checks the equality."""

    _WORD_CACHE_MAX = 200_000
    LEMMA_BLOCKS = ("lemmas", "opening", "closing", "client_closing")

    def __init__(self, pipeline: Any) -> None:
        union = pipeline.named_steps["features"]
        parts = dict(union.transformer_list)
        names = [name for name, _ in union.transformer_list]
        block_weight = dict(union.transformer_weights or {})
        if names != [*self.LEMMA_BLOCKS, "chars", "dialogue"]:
            raise ValueError(f"unexpected feature blocks {names}")
        if set(block_weight) - {"client_closing"}:
            raise ValueError(f"block weights are only supported for client_closing, got {sorted(block_weight)}")
        # per lemma block: (unigram index, bigram index, idf, column offset)
        self.lemma_blocks: list[tuple[dict[str, int], dict[tuple[str, str], int], np.ndarray, int, float]] = []
        offset = 0
        for name in self.LEMMA_BLOCKS:
            vec = parts[name]
            uni: dict[str, int] = {}
            bi: dict[tuple[str, str], int] = {}
            for term, idx in vec.vocabulary_.items():
                if " " in term:
                    a, b = term.split(" ", 1)
                    bi[(a, b)] = int(idx)
                else:
                    uni[term] = int(idx)
            self.lemma_blocks.append((uni, bi, vec.idf_, offset, float(block_weight.get(name, 1.0))))
            offset += len(vec.idf_)
        self.char_vocab = parts["chars"].vocabulary_
        self.char_idf = parts["chars"].idf_
        self.char_offset = offset
        self.dialogue_offset = offset + len(self.char_idf)
        scaler = parts["dialogue"].named_steps["scale"]
        self.dialogue_mean = scaler.mean_
        self.dialogue_scale = scaler.scale_ / float(getattr(scaler, "weight", 1.0))
        self.dialogue = parts["dialogue"].named_steps["extract"]
        self._word_idx: dict[str, np.ndarray] = {}
        # All heads side by side, (n_features, sum of n_labels), row-contiguous: a call gathers only
        # the rows of its few hundred non-zero features.
        ests = pipeline.named_steps["heads"].estimators_
        self.coef_t = np.ascontiguousarray(np.hstack([np.asarray(e.coef_, dtype=np.float64).T for e in ests]))
        self.intercept = np.concatenate([np.asarray(e.intercept_, dtype=np.float64) for e in ests])
        self.head_slices = []
        col = 0
        for e in ests:
            width = np.asarray(e.coef_).shape[0]
            self.head_slices.append((slice(col, col + width), list(e.classes_)))
            col += width

    @staticmethod
    def _weights(idx: list[int], idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not idx:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        index, counts = np.unique(np.asarray(idx, dtype=np.int64), return_counts=True)
        weights = (np.log(counts) + 1.0) * idf[index]
        return index, weights / np.linalg.norm(weights)

    def _char_weights(self, doc: CallDocument) -> tuple[np.ndarray, np.ndarray]:
        from callqa.scoring.features import _word_ngrams

        cache = self._word_idx
        if len(cache) > self._WORD_CACHE_MAX:
            cache.clear()
        parts = []
        for tok in {t for _, toks in doc.turn_tokens for t in toks}:
            got = cache.get(tok)
            if got is None:
                got = cache[tok] = np.array([self.char_vocab[g] for g in _word_ngrams(tok) if g in self.char_vocab],
                                            dtype=np.int64)
            parts.append(got)
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        # np.unique: the sorted distinct n-gram indices and their counts, without a vocabulary-long
        # bincount (same numbers, several times cheaper for a call's few thousand n-grams).
        index, counts = np.unique(np.concatenate(parts), return_counts=True)
        if not len(index):
            return index, np.zeros(0)
        weights = (np.log(counts) + 1.0) * self.char_idf[index]
        return index, weights / np.linalg.norm(weights)

    def proba(self, doc: CallDocument) -> list[tuple[np.ndarray, list[str]]]:
        from callqa.scoring.features import _client_closing, _regions

        opening, closing = _regions(doc)
        indices: list[np.ndarray] = []
        values: list[np.ndarray] = []
        sequences = (list(doc.lemmas), opening, closing, _client_closing(doc))
        for (uni, bi, idf, offset, block_weight), seq in zip(self.lemma_blocks, sequences, strict=True):
            idx = [i for i in map(uni.get, seq) if i is not None]
            idx += [i for i in map(bi.get, zip(seq, seq[1:], strict=False)) if i is not None]
            index, weights = self._weights(idx, idf)
            indices.append(index + offset)
            values.append(weights * block_weight)
        index, weights = self._char_weights(doc)
        indices.append(index + self.char_offset)
        values.append(weights)
        dia = (np.asarray(self.dialogue._one(doc)) - self.dialogue_mean) / self.dialogue_scale
        indices.append(np.arange(self.dialogue_offset, self.dialogue_offset + len(dia)))
        values.append(dia)
        scores = np.concatenate(values) @ self.coef_t[np.concatenate(indices)] + self.intercept
        out = []
        for cols, classes in self.head_slices:
            score = scores[cols]
            if len(classes) == 2:  # sklearn's binary head: one score for classes[1]
                p1 = 1.0 / (1.0 + np.exp(-score[0]))
                out.append((np.array([1.0 - p1, p1]), classes))
            else:
                e = np.exp(score - score.max())
                out.append((e / e.sum(), classes))
        return out


def _reorder(proba: np.ndarray, have: Sequence[str], want: Sequence[str]) -> np.ndarray:
    out = np.zeros((proba.shape[0], len(want)), dtype=np.float64)
    index = {str(c): i for i, c in enumerate(have)}
    for j, label in enumerate(want):
        if label in index:
            out[:, j] = proba[:, index[label]]
    return out


# ---- loading ------------------------------------------------------------------------------------
def load_classifier(model_dir: str | Path) -> CallClassifier:
    """Load a trained classifier from ``model_dir`` (model.joblib or a transformers folder + metadata.json).

    Raises:
        ClassifierLoadError: the folder, artifact or metadata is missing, or it was saved with a
            different scikit-learn minor version (pickles are not portable across them).
    """
    path = Path(model_dir)
    meta_path = path / METADATA_FILE
    how_to_fix = (f"Train it with `callqa train classifier` (writes models/call-classifier/{MODEL_VERSION}), or pass the "
                  "folder of a trained model.")
    if not meta_path.is_file():
        raise ClassifierLoadError(f"classifier metadata {meta_path} not found. {how_to_fix}")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ClassifierLoadError(f"cannot read classifier metadata {meta_path}: {exc}") from exc
    backend_name = meta.get("backend", "sklearn")
    if backend_name == "transformers":
        from callqa.scoring.classify_transformers import TransformerBackend

        backend: Any = TransformerBackend.load(path)
    else:
        import joblib
        import sklearn

        saved = str(meta.get("sklearn_version", "?"))
        if saved.split(".")[:2] != sklearn.__version__.split(".")[:2]:
            raise ClassifierLoadError(
                f"classifier {path} was saved with scikit-learn {saved}, this environment has "
                f"{sklearn.__version__}; retrain it with `callqa train classifier` or install scikit-learn=={saved}."
            )
        artifact = path / ARTIFACT_FILE
        if not artifact.is_file():
            raise ClassifierLoadError(f"classifier artifact {artifact} not found. {how_to_fix}")
        try:
            backend = joblib.load(artifact)
        except Exception as exc:  # a truncated or foreign pickle: say which file
            raise ClassifierLoadError(f"cannot load classifier artifact {artifact}: {exc}") from exc
    return CallClassifier(backend, classes=meta.get("classes", CALL_CLASSES), outcomes=meta.get("outcomes", OUTCOMES),
                          model_version=str(meta.get("model_version", path.name)), metadata=meta)


@lru_cache(maxsize=4)
def _load_cached(path: str) -> CallClassifier:
    return load_classifier(path)


def load_default_classifier(model_dir: str | Path | None = None) -> CallClassifier:
    """The shipped classifier (models/call-classifier/<MODEL_VERSION>, the newest), loaded once per process.

    Resolution: ``model_dir`` if given, else env ``CALLQA_CLASSIFIER_DIR``, else the packaged
    default folder.

    Raises:
        ClassifierLoadError: with the missing file and how to create it.
    """
    path = model_dir or os.environ.get("CALLQA_CLASSIFIER_DIR") or DEFAULT_MODEL_DIR
    return _load_cached(str(Path(path).resolve()))


# ---- corpus, training, evaluation -------------------------------------------------------------
def load_corpus(path: str | Path) -> list[dict[str, Any]]:
    """Read a corpus JSONL file; each line ``{"id", "call_class", "outcome", "turns": [...]}``."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"corpus file {file} not found")
    records = []
    for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{file}:{n}: not JSON: {exc}") from exc
        if rec.get("call_class") not in CALL_CLASSES or rec.get("outcome") not in OUTCOMES:
            raise ValueError(f"{file}:{n}: call_class/outcome must be one of {CALL_CLASSES} / {OUTCOMES}")
        records.append(rec)
    if not records:
        raise ValueError(f"corpus file {file} is empty")
    return records


@dataclass(frozen=True)
class TargetReport:
    """Per-label precision/recall/F1 and the confusion matrix (rows: true, columns: predicted)."""

    labels: tuple[str, ...]
    precision: dict[str, float]
    recall: dict[str, float]
    f1: dict[str, float]
    support: dict[str, int]
    macro_f1: float
    accuracy: float
    confusion: list[list[int]]


@dataclass(frozen=True)
class EvaluationReport:
    """Held-out figures of a classifier."""

    n_calls: int
    call_class: TargetReport
    outcome: TargetReport
    callback_due_accuracy: float | None
    n_callback_due: int
    mean_predict_ms: float
    class_ece: float | None = None
    outcome_ece: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _target_report(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> TargetReport:
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    present = [lab for lab in labels if lab in set(y_true) | set(y_pred)]
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=present, zero_division=0)
    true_labels = [lab for lab in present if lab in set(y_true)]
    macro = float(np.mean([f[present.index(lab)] for lab in true_labels])) if true_labels else 0.0
    return TargetReport(
        labels=tuple(present),
        precision={lab: round(float(v), 4) for lab, v in zip(present, p, strict=True)},
        recall={lab: round(float(v), 4) for lab, v in zip(present, r, strict=True)},
        f1={lab: round(float(v), 4) for lab, v in zip(present, f, strict=True)},
        support={lab: int(v) for lab, v in zip(present, s, strict=True)},
        macro_f1=round(macro, 4),
        accuracy=round(float(accuracy_score(y_true, y_pred)), 4),
        confusion=confusion_matrix(y_true, y_pred, labels=present).tolist(),
    )


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], n_bins: int = 10) -> float:
    """Expected calibration error of the top label: the mean |accuracy - confidence| over equal-width
    confidence bins, weighted by the share of predictions in each bin (0 = perfectly calibrated)."""
    conf = np.asarray(confidence, dtype=np.float64)
    hit = np.asarray(correct, dtype=np.float64)
    if conf.shape != hit.shape or not len(conf):
        raise ValueError("confidence and correct must be non-empty and of equal length")
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            total += mask.mean() * abs(hit[mask].mean() - conf[mask].mean())
    return float(total)


def evaluate(classifier: CallClassifier, records: Sequence[Mapping[str, Any]]) -> EvaluationReport:
    """Score ``classifier`` on labelled corpus records (macro-F1 over the labels present in the data)."""
    from callqa.scoring.dates import find_due_expression

    docs = [document_from_record(r) for r in records]
    t0 = time.perf_counter()
    preds = classifier.predict_documents(docs)
    batch_s = time.perf_counter() - t0
    per_call_ms = []
    for doc in docs[:100]:
        c0 = time.process_time()  # CPU time: wall time on a shared machine measures the neighbours
        classifier.predict_documents([doc])
        per_call_ms.append(1000.0 * (time.process_time() - c0))
    single_ms = float(np.median(per_call_ms)) if per_call_ms else 0.0
    logger.info("held-out: %d calls in %.2f s batched, median %.2f ms CPU per single call", len(docs), batch_s, single_ms)
    due_hits = due_total = 0
    for rec, pred in zip(records, preds, strict=True):
        if rec.get("outcome") == "callback" and rec.get("callback_due_text"):
            due_total += 1
            want = find_due_expression(str(rec["callback_due_text"]))
            due_hits += int(want is not None and pred.callback_due_text == want.text)
    return EvaluationReport(
        n_calls=len(records),
        call_class=_target_report([r["call_class"] for r in records], [p.call_class for p in preds], CALL_CLASSES),
        outcome=_target_report([r["outcome"] for r in records], [p.outcome for p in preds], OUTCOMES),
        callback_due_accuracy=round(due_hits / due_total, 4) if due_total else None,
        n_callback_due=due_total,
        mean_predict_ms=round(single_ms, 3),
        class_ece=round(expected_calibration_error(
            [p.class_probs[p.call_class] for p in preds],
            [p.call_class == r["call_class"] for p, r in zip(preds, records, strict=True)]), 4),
        outcome_ece=round(expected_calibration_error(
            [p.outcome_probs[p.outcome] for p in preds],
            [p.outcome == r["outcome"] for p, r in zip(preds, records, strict=True)]), 4),
    )


@dataclass(frozen=True)
class TrainResult:
    classifier: CallClassifier
    report: EvaluationReport
    model_dir: Path | None
    n_train: int
    n_heldout: int
    metadata: dict[str, Any] = field(default_factory=dict)


def _augment(docs: list[CallDocument], labels: list[tuple[str, str]], share: float, swap_share: float,
             seed: int) -> tuple[list[CallDocument], list[tuple[str, str]]]:
    """Extra copies: role-free (``share``), plain text (``share / 2``) and with manager and client
    swapped (``swap_share``: a diarization that mixed up the channels)."""
    rng = np.random.default_rng(seed)
    out_docs, out_labels = list(docs), list(labels)
    for doc, lab in zip(docs, labels, strict=True):
        if rng.random() < share:
            out_docs.append(doc.without_roles())
            out_labels.append(lab)
        if rng.random() < share / 2:
            out_docs.append(doc.as_plain_text())
            out_labels.append(lab)
        if rng.random() < swap_share:
            out_docs.append(doc.with_roles_swapped())
            out_labels.append(lab)
    return out_docs, out_labels


def _fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Temperature T minimising the log-loss of softmax(logits / T) (1-D grid search, T in 0.25..8)."""
    best_t, best_nll = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.25), np.log(8.0), 71)):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        nll = float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


def _temperatures(pipeline: Any, docs: Sequence[CallDocument], labels: Sequence[tuple[str, str]]) -> tuple[float, float]:
    """Temperature per head (call class, outcome) that minimises the log-loss on ``docs``."""
    feats = pipeline.named_steps["features"].transform(list(docs))
    y = np.array(labels, dtype=object)
    temps = []
    for k, est in enumerate(pipeline.named_steps["heads"].estimators_):
        logits = np.asarray(est.decision_function(feats))
        classes = list(est.classes_)
        y_k = np.array([classes.index(v) if v in classes else -1 for v in y[:, k]])
        keep = y_k >= 0
        temps.append(1.0 if logits.ndim == 1 or not keep.any() else _fit_temperature(logits[keep], y_k[keep]))
    return temps[0], temps[1]


def train_classifier(corpus_dir: str | Path | None = None, out_dir: str | Path | None = None,
                     options: TrainOptions | None = None,
                     progress: Any = None) -> TrainResult:
    """Train on ``corpus_dir``/train.jsonl, evaluate on ``corpus_dir``/heldout.jsonl, save to ``out_dir``.

    Args:
        corpus_dir: folder with train.jsonl and heldout.jsonl (default: the shipped corpus).
        out_dir: where to write the artifact, metadata.json and MODEL_CARD.md; None keeps it in memory.
        options: backend and hyper-parameters.
        progress: optional callable taking a status string (the CLI prints it).

    Returns:
        The classifier, its held-out report and where it was written.
    """
    import sklearn

    options = options or TrainOptions()
    corpus = Path(corpus_dir) if corpus_dir else DEFAULT_CORPUS_DIR
    train = load_corpus(corpus / "train.jsonl")
    heldout = load_corpus(corpus / "heldout.jsonl")
    overlap = {r["id"] for r in train} & {r["id"] for r in heldout}
    if overlap:
        raise ValueError(f"train and held-out share ids: {sorted(overlap)[:5]}")
    say = progress or (lambda msg: logger.info("%s", msg))
    docs = [document_from_record(r) for r in train]
    labels = [(r["call_class"], r["outcome"]) for r in train]
    docs, labels = _augment(docs, labels, options.role_dropout, options.role_swap, options.seed)
    say(f"training {options.backend} on {len(train)} calls ({len(docs)} with role-free copies)")
    t0 = time.perf_counter()
    version = f"{MODEL_NAME}/{MODEL_VERSION}"
    temperatures: tuple[float, float] | None = None
    if options.backend == "sklearn":
        backend: Any = build_pipeline(options)
        backend.fit(docs, np.array(labels, dtype=object))
        calib_file = corpus / CALIBRATION_FILE
        if options.calibrate and calib_file.is_file():
            calib = load_corpus(calib_file)
            temperatures = _temperatures(backend, [document_from_record(r) for r in calib],
                                         [(r["call_class"], r["outcome"]) for r in calib])
            say(f"calibrated on {len(calib)} calls of {calib_file.name}: temperatures {temperatures}")
        if temperatures is not None:
            for est, temp in zip(backend.named_steps["heads"].estimators_, temperatures, strict=True):
                est.coef_ = est.coef_ / temp
                est.intercept_ = est.intercept_ / temp
        version_str = f"{version} (sklearn {sklearn.__version__})"
    else:
        from callqa.scoring.classify_transformers import TransformerBackend

        backend = TransformerBackend.train(docs, labels, classes=CALL_CLASSES, outcomes=OUTCOMES,
                                           options=options, progress=say)
        version_str = f"{version} (transformers {backend.encoder_name})"
    train_s = time.perf_counter() - t0
    classifier = CallClassifier(backend, classes=CALL_CLASSES, outcomes=OUTCOMES, model_version=version_str)
    say(f"trained in {train_s:.1f} s; evaluating on {len(heldout)} held-out calls")
    report = evaluate(classifier, heldout)
    metadata = {
        "backend": options.backend,
        "sklearn_version": sklearn.__version__,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "train_seconds": round(train_s, 1),
        "corpus": str(corpus),
        "n_train": len(train),
        "n_heldout": len(heldout),
        "options": asdict(options),
        "temperatures": list(temperatures) if temperatures else None,
        "heldout": report.to_dict(),
    }
    external = {}
    for name in EXTERNAL_CHECK_FILES:  # evaluation only: these calls are never trained on
        if (corpus / name).is_file():
            external[name] = evaluate(classifier, load_corpus(corpus / name)).to_dict()
            say(f"{name}: class macro-F1 {external[name]['call_class']['macro_f1']:.3f}, "
                f"outcome macro-F1 {external[name]['outcome']['macro_f1']:.3f}")
    metadata["external"] = external
    classifier.metadata = metadata
    written: Path | None = None
    if out_dir is not None:
        written = Path(out_dir)
        classifier.save(written)
        (written / CARD_FILE).write_text(model_card(metadata, report, train, heldout), encoding="utf-8")
        _load_cached.cache_clear()
        say(f"wrote {written}")
    return TrainResult(classifier=classifier, report=report, model_dir=written, n_train=len(train),
                       n_heldout=len(heldout), metadata=metadata)


# ---- model card ---------------------------------------------------------------------------------
def _table(report: TargetReport) -> str:
    lines = ["| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for lab in report.labels:
        lines.append(f"| {lab} | {report.precision[lab]:.3f} | {report.recall[lab]:.3f} | "
                     f"{report.f1[lab]:.3f} | {report.support[lab]} |")
    lines.append(f"| **macro-F1** | | | **{report.macro_f1:.3f}** | |")
    lines.append("")
    lines.append("Confusion matrix (rows: true, columns: predicted):")
    lines.append("")
    lines.append("| true \\ pred | " + " | ".join(report.labels) + " |")
    lines.append("|---" * (len(report.labels) + 1) + "|")
    for lab, row in zip(report.labels, report.confusion, strict=True):
        lines.append(f"| {lab} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def _counts(records: Iterable[Mapping[str, Any]], key: str) -> str:
    from collections import Counter

    counts = Counter(str(r.get(key)) for r in records)
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def _external_section(metadata: Mapping[str, Any]) -> str:
    lines = []
    for name, rep in (metadata.get("external") or {}).items():
        cc, oc = rep["call_class"], rep["outcome"]
        lines.append(f"| `{name}` | {rep['n_calls']} | {cc['macro_f1']:.3f} | {cc['accuracy']:.3f} | {rep.get('class_ece')} | "
                     f"{oc['macro_f1']:.3f} | {oc['accuracy']:.3f} | {rep.get('outcome_ece')} |")
    if not lines:
        return "No hand-written check set was found beside the corpus."
    head = ["| set | calls | class macro-F1 | class acc. | class ECE | outcome macro-F1 | outcome acc. | outcome ECE |",
            "|---|---|---|---|---|---|---|---|"]
    return "\n".join(head + lines)


def model_card(metadata: Mapping[str, Any], report: EvaluationReport, train: Sequence[Mapping[str, Any]],
               heldout: Sequence[Mapping[str, Any]]) -> str:
    """The model card (Markdown) for a trained classifier."""
    backend = metadata.get("backend", "sklearn")
    options = metadata.get("options", {})
    due = ("n/a" if report.callback_due_accuracy is None
           else f"{report.callback_due_accuracy:.3f} on {report.n_callback_due} callback calls")
    temps = metadata.get("temperatures")
    calib = (f"Probabilities are temperature-scaled per head (class T={temps[0]:.2f}, outcome T={temps[1]:.2f}), "
             "fitted on `calibration.jsonl` (calls composed from the held-out phrase banks with their own seed, "
             "never trained on); scaling does not change any prediction, only the probabilities."
             if temps else "Probabilities are not temperature-scaled (no calibration.jsonl beside the corpus).")
    arch = ("TF-IDF over pymorphy3 lemma uni/bigrams of the whole call, of its opening (first two turns) and "
            "of its closing (the last 40% of the turns, at least three, capped to 80 tokens; verbs there keep "
            "person/mood, so \"перезвоню\" (I will call) and \"перезвоните\" (you call) differ), each its own block; "
            "TF-IDF over character 3-5-grams of distinct words (ASR misspellings); 6 dialogue features (role word "
            "shares, question share, who spoke first, longest-turn share; no absolute length, which separated the "
            "synthetic classes and did not transfer); one balanced logistic regression per target (call class, "
            "outcome)."
            if backend == "sklearn" else
            f"Encoder `{options.get('encoder') or 'tiny from-scratch BERT'}` with two linear heads "
            "(call class, outcome) fine-tuned jointly.")
    return f"""# Model card: call-classifier {MODEL_VERSION} ({backend})

Trained {metadata.get('trained_at')} by `callqa train classifier` in {metadata.get('train_seconds')} s.

## What it does
Given a Russian sales-call transcript (manager/client turns, or unlabelled text), predicts the call
class (`lead`, `non_target`, `spam`, `upsell`, `service`) and the outcome (`sale`, `next_step`,
`callback`, `refusal`, `none`), each with probabilities. When the outcome is `callback`, the due
expression ("завтра", "до пятницы", "через час") is extracted and resolved by
`callqa.scoring.dates` relative to the call's start.

Label definitions (one for the corpus, the check sets and the demo):
- `lead`: a new potential client, **whoever dialled**: an inbound inquiry, a call back on a web form,
  and a cold call to someone who never asked (the demo's `cold_*` calls are `lead`). Not yet a client.
- `upsell`: a sale offered to or asked for by an existing client (renewal, more seats, an extra service);
  also a service call that turns into an offer the client engages with.
- `service`: support for an existing client (complaints, documents, warranty, rescheduling, quick
  questions, cancelling).
- `non_target`: wrong numbers, job seekers, suppliers, couriers, press, requests for things the company does not do.
- `spam`: robots, mass advertising, fraud, silent calls. Outcome always `none`.
- Outcomes: `sale` (invoice/payment/order agreed, even when a delivery or installation date follows),
  `next_step` (a concrete meeting, visit, demo or appointment, even when a reminder call is promised),
  `callback` (someone promised to call back, nothing else fixed), `refusal` (the client declines, also
  a retention offer when cancelling), `none` (nothing agreed: "я подумаю", "звоните, если что").

## Architecture
{arch}
Training adds role-free copies of {int(100 * float(options.get('role_dropout', 0)))}% of the calls (and plain-text copies
of half as many) and copies with manager and client swapped ({int(100 * float(options.get('role_swap', 0)))}%, a
diarization that mixed up the channels), so the model also works without or with wrong roles.
{calib}

## Data
Project corpus `scoring/corpus/` generated by `scoring/corpus/build_corpus.py` from hand-written phrase
banks (7 industries: equipment rental, SaaS for small business, windows, dental clinics, car dealers,
credit brokers, property developers; a quarter of the calls from six smaller businesses: kitchens,
fitness, driving school, internet provider, online shop, cleaning). v2 banks add cold calls, plain
inbound inquiries ("я по объявлению"), weak managers who only talk, explicit existing-client signals
("у вас подключён тариф", "продлить", "добавить"), quick questions of clients, cancellations, and many
more closings (next step with day and time, callback promises by either side, soft and hard refusals,
vague endings). Noise: lower case, dropped punctuation, fillers, misspellings, and diarization errors
(turn ends landing in the next turn, short turns given to the wrong speaker). Every phrase bank with
4+ entries is split: a quarter of its entries appear only in held-out (and calibration) calls, so
held-out calls never reuse a training sentence template.

- train: {len(train)} calls; classes: {_counts(train, 'call_class')}; outcomes: {_counts(train, 'outcome')}
- held-out: {len(heldout)} calls; classes: {_counts(heldout, 'call_class')}; outcomes: {_counts(heldout, 'outcome')}

## Held-out results ({report.n_calls} calls, never used in training)

### Call class (accuracy {report.call_class.accuracy:.3f}, ECE {report.class_ece})
{_table(report.call_class)}

### Outcome (accuracy {report.outcome.accuracy:.3f}, ECE {report.outcome_ece})
{_table(report.outcome)}

Callback due text exact match: {due}. Median CPU time of a single-call predict on the training
machine: {report.mean_predict_ms:.2f} ms (held-out calls; `tests/scoring/bench_classify.py` times a
5-minute transcript). ECE: expected calibration error of the top label's probability (10 bins).

## Calls written by hand outside the generator (never trained on)

{_external_section(metadata)}

`unseen_handwritten.jsonl` (45 calls, 20+ businesses absent from the banks) was written before v2 and
looked at while v2 was built (its errors guided which kinds of phrasing the banks lacked), so it is
optimistic. `unseen_blind.jsonl` (20 calls) was written early in v2's development, kept out of every
experiment and scored once, with the final model: **the honest generalisation estimate**, with a wide
margin of error at 20 calls. Reproduce with
`.venv/bin/python tests/scoring/eval_classify_external.py` (add `--demo-db PATH` for the demo's ASR
transcripts; the figures are in docs/classifier.md).

## Intended use
Routing and reporting in callqa: lead vs. non-target accounting, outcome funnels, callback reminders
(with the due time) for managers. Scores are advisory; a human reviews disputed calls.

## Limits
- The training corpus is synthetic (composed from hand-written parts, not real calls); held-out figures
  measure generalisation to unseen phrasings of the same banks. The hand-written sets are small.
  Re-train with real labelled calls (same JSONL format) before relying on it.
- Russian only. Very short or silent calls carry little signal; probabilities are then flat.
- Weakest pairs: `lead` vs `upsell` when the call never says whether the person is already a client,
  `service` vs `upsell` for long service calls, `none` vs `callback` when the manager tells the client
  to call ("перезвоните как-нибудь").
- Weekday deadlines ("в понедельник") need the call's start time to become a date.
- Pickled with scikit-learn {metadata.get('sklearn_version')}; loading checks the
  major.minor version and asks to retrain on mismatch.
"""
