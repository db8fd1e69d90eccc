"""Text and dialogue features for call classification.

A call is a :class:`CallDocument` (role-tagged turns). The sklearn pipeline reads it through several
views: lemma n-grams (pymorphy3, cached per token) of the whole call, of its opening and of its
closing (each its own TF-IDF block, so the closing weighs as much as the rest), character n-grams
of the distinct words (robust to ASR misspellings), and a few numeric dialogue features.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import chain
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import StandardScaler

from callqa.types import Transcript

__all__ = [
    "CallDocument", "DialogueFeatures", "WeightedScaler", "char_ngram_analyzer", "client_closing_analyzer",
    "closing_analyzer", "closing_lemma",
    "document_from_record",
    "document_from_transcript", "lemma", "lemma_analyzer", "opening_analyzer", "tokenize",
]

_TOKEN_RE = re.compile(r"[а-яa-z0-9]+(?:-[а-яa-z0-9]+)*")
_QUESTION_WORDS = frozenset({"как", "какой", "какая", "какие", "сколько", "когда", "где", "почему", "зачем",
                             "куда", "откуда", "что", "кто", "ли", "чем", "можно"})
_OPENING_TOKENS = 40   # lemmas of the first turns, marked "B:" (why the call happened)
_CLOSING_TOKENS = 80   # lemmas of the last turns (how it ended)
_CLOSING_SHARE = 0.4   # share of the turns that count as the closing
_CLOSING_MIN_TURNS = 3
_CLIENT_CLOSING_TOKENS = 40
_VALID_ROLES = ("manager", "client", "unknown")
_VALID_ROLE_SET = frozenset(_VALID_ROLES)


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3  # created once: building the analyser takes ~0.3 s and 15 MB

    return pymorphy3.MorphAnalyzer(lang="ru")


@lru_cache(maxsize=200_000)
def lemma(token: str) -> str:
    """Normal form of a lower-case Russian token (first pymorphy3 parse); other tokens unchanged."""
    if not token or not ("а" <= token[0] <= "я"):
        return token
    return _morph().parse(token)[0].normal_form.replace("ё", "е")


@lru_cache(maxsize=200_000)
def closing_lemma(token: str) -> str:
    """Lemma of a closing-turn token with the verb's person/mood kept: "перезвоню" ->
    "перезвонить~1", "перезвоните" -> "перезвонить~imp" (who promises and who is told to call
    decides between a callback and nothing agreed)."""
    if not token or not ("а" <= token[0] <= "я"):
        return token
    parse = _morph().parse(token)[0]
    base = parse.normal_form.replace("ё", "е")
    tag = parse.tag
    if tag.POS in ("VERB", "INFN"):
        if tag.mood == "impr":
            return base + "~imp"
        if tag.person == "1per":
            return base + "~1"
        if tag.person == "2per":  # "перезвоните" parses as indicative 2nd person first
            return base + "~imp"
    return base


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens with ``ё`` folded to ``е``; punctuation dropped."""
    return _TOKEN_RE.findall(text.lower().replace("ё", "е"))


@dataclass(frozen=True)
class CallDocument:
    """One call as role-tagged turns, the input of the sklearn pipeline.

    Attributes:
        turns: ``(role, text)`` pairs in time order; role is manager, client or unknown.
    """

    turns: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        roles = {role for role, _ in self.turns}
        if not roles <= _VALID_ROLE_SET:
            bad = sorted(map(repr, roles - _VALID_ROLE_SET))
            raise ValueError(f"turn role {', '.join(bad)} is not one of: {', '.join(_VALID_ROLES)}")
        if not all(isinstance(text, str) for _, text in self.turns):
            raise ValueError("turn text must be str")

    @property
    def text(self) -> str:
        return " ".join(t for _, t in self.turns)

    @cached_property
    def turn_tokens(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """``(role, tokens)`` per turn, computed once per document."""
        return tuple((role, tuple(tokenize(text))) for role, text in self.turns)

    @cached_property
    def lemmas(self) -> tuple[str, ...]:
        return tuple(map(lemma, chain.from_iterable(toks for _, toks in self.turn_tokens)))

    @property
    def roles_known(self) -> bool:
        return any(role != "unknown" for role, _ in self.turns)

    def without_roles(self) -> CallDocument:
        """The same turns with roles unknown (as from an unlabelled diarization)."""
        return CallDocument(tuple(("unknown", text) for _, text in self.turns))

    def with_roles_swapped(self) -> CallDocument:
        """Manager and client exchanged (a diarization that mixed up the channels)."""
        swap = {"manager": "client", "client": "manager", "unknown": "unknown"}
        return CallDocument(tuple((swap[role], text) for role, text in self.turns))

    def as_plain_text(self) -> CallDocument:
        """All text in one unknown-role turn (no diarization at all)."""
        return CallDocument((("unknown", self.text),))


def document_from_transcript(transcript: Transcript) -> CallDocument:
    """Turns of a transcript: consecutive segments of one speaker are joined.

    Segment roles come from ``segment.role`` or, failing that, ``transcript.roles[segment.speaker]``.
    """
    if not isinstance(transcript, Transcript):
        raise ValueError(f"expected a callqa.types.Transcript, got {type(transcript).__name__}")
    turns: list[tuple[str, str]] = []
    last_key: tuple[str, str | None] | None = None
    for seg in transcript.segments:
        text = seg.text.strip()
        if not text:
            continue
        role = seg.role if seg.role in ("manager", "client") else transcript.roles.get(seg.speaker or "", "unknown")
        if role not in _VALID_ROLES:
            role = "unknown"
        key = (role, seg.speaker if role == "unknown" else None)
        if turns and key == last_key:
            turns[-1] = (role, turns[-1][1] + " " + text)
        else:
            turns.append((role, text))
        last_key = key
    return CallDocument(tuple(turns))


def document_from_record(record: Mapping[str, Any]) -> CallDocument:
    """A corpus JSONL record (``{"turns": [{"role", "text"}, ...]}``) as a document."""
    try:
        turns = tuple((str(t["role"]), str(t["text"])) for t in record["turns"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"corpus record {record.get('id', '?')!r} needs turns with role and text") from exc
    return CallDocument(turns)


def _regions(doc: CallDocument) -> tuple[list[str], list[str]]:
    """Lemmas of the opening (first two turns) and of the closing (the last 40% of the turns, at
    least three, capped to the last tokens; verbs keep person/mood, see :func:`closing_lemma`)."""
    lemmas = doc.lemmas
    sizes = [len(toks) for _, toks in doc.turn_tokens]
    n_open = min(sum(sizes[:2]), _OPENING_TOKENS)
    n_turns = max(_CLOSING_MIN_TURNS, math.ceil(_CLOSING_SHARE * len(sizes)))
    n_close = min(sum(sizes[-n_turns:]), _CLOSING_TOKENS)
    tokens = [t for _, toks in doc.turn_tokens for t in toks]
    return list(lemmas[:n_open]), [closing_lemma(t) for t in tokens[len(tokens) - n_close:]]


def _client_closing(doc: CallDocument) -> list[str]:
    """Closing lemmas (as in :func:`_regions`) of the client's turns only: the client's own decision
    ("нет, не интересует", "давайте оформлять") weighs apart from the manager's polite reply.
    Empty when roles are unknown."""
    n_turns = max(_CLOSING_MIN_TURNS, math.ceil(_CLOSING_SHARE * len(doc.turns)))
    tokens = [t for role, toks in doc.turn_tokens[-n_turns:] if role == "client" for t in toks]
    return [closing_lemma(t) for t in tokens[len(tokens) - min(len(tokens), _CLIENT_CLOSING_TOKENS):]]


def _uni_bi(seq: Sequence[str]) -> list[str]:
    return list(seq) + [f"{a} {b}" for a, b in zip(seq, seq[1:], strict=False)]


def lemma_analyzer(doc: CallDocument) -> list[str]:
    """Lemma unigrams and bigrams of the whole call."""
    return _uni_bi(doc.lemmas)


def opening_analyzer(doc: CallDocument) -> list[str]:
    """Lemma unigrams and bigrams of the opening (first two turns, capped): why the call happened."""
    return _uni_bi(_regions(doc)[0])


def closing_analyzer(doc: CallDocument) -> list[str]:
    """Lemma unigrams and bigrams of the closing (last three turns, capped): how the call ended."""
    return _uni_bi(_regions(doc)[1])


@lru_cache(maxsize=200_000)
def _word_ngrams(token: str) -> tuple[str, ...]:
    padded = f" {token} "
    return tuple(padded[i:i + n] for n in (3, 4, 5) for i in range(len(padded) - n + 1))


def client_closing_analyzer(doc: CallDocument) -> list[str]:
    """Lemma unigrams and bigrams of the client's turns in the closing."""
    return _uni_bi(_client_closing(doc))


def char_ngram_analyzer(doc: CallDocument) -> list[str]:
    """Character 3-5-grams of the call's distinct words (word-bounded, cached per word)."""
    out: list[str] = []
    for tok in {t for _, toks in doc.turn_tokens for t in toks}:
        out.extend(_word_ngrams(tok))
    return out


class DialogueFeatures(TransformerMixin, BaseEstimator):
    """Numeric dialogue features, shape (n_calls, 6): client/manager word shares (0.5 when roles are
    unknown), share of question turns, whether roles are known, who spoke first, share of the
    longest turn. No absolute length (turn or word counts): in the synthetic corpus length separated
    the classes (service calls were short) and it did not transfer to real calls."""

    feature_names = ("client_share", "manager_share", "question_share", "roles_known", "manager_first",
                     "longest_turn_share")

    def fit(self, docs: Sequence[CallDocument], y: Any = None) -> DialogueFeatures:
        return self

    def transform(self, docs: Iterable[CallDocument]) -> np.ndarray:
        return np.array([self._one(doc) for doc in docs], dtype=np.float64).reshape(-1, len(self.feature_names))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array(self.feature_names, dtype=object)

    @staticmethod
    def _one(doc: CallDocument) -> list[float]:
        lengths = [len(toks) for _, toks in doc.turn_tokens]
        n_words = sum(lengths)
        n_turns = len(lengths)
        known = doc.roles_known
        by_role = {"manager": 0, "client": 0}
        questions = 0
        for (role, text), (_, toks) in zip(doc.turns, doc.turn_tokens, strict=True):
            if role in by_role:
                by_role[role] += len(toks)
            if "?" in text or (toks and (toks[0] in _QUESTION_WORDS or "ли" in toks)):
                questions += 1
        total = max(n_words, 1)
        return [
            by_role["client"] / total if known else 0.5,
            by_role["manager"] / total if known else 0.5,
            questions / max(n_turns, 1),
            1.0 if known else 0.0,
            1.0 if known and doc.turns and doc.turns[0][0] == "manager" else 0.0,
            max(lengths, default=0) / total,
        ]


class WeightedScaler(StandardScaler):
    """Standard scaling times ``weight``: keeps the few dense dialogue features from outvoting the
    lexical evidence (length alone separated the synthetic classes too well and did not transfer)."""

    def __init__(self, *, weight: float = 1.0, copy: bool = True, with_mean: bool = True, with_std: bool = True) -> None:
        super().__init__(copy=copy, with_mean=with_mean, with_std=with_std)
        self.weight = weight

    def transform(self, X: Any, copy: bool | None = None) -> Any:  # noqa: N803 - sklearn's signature
        return super().transform(X, copy=copy) * self.weight
