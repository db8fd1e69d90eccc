"""Russian text normalisation for scoring: tokens, cached lemmas, syllables.

pymorphy3 parsing costs tens of microseconds per word, so lemmas are memoised per token;
a five-minute call repeats most of its words and the cache makes lemmatisation nearly free.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

logger = logging.getLogger(__name__)

# A token is a run of letters (Cyrillic or Latin, hyphenated words kept whole) or of digits.
# Applied to lower-cased text only (IGNORECASE slows Unicode matching down several times).
TOKEN_RE = re.compile(r"[0-9]+|[a-zа-яё]+(?:[-'’][a-zа-яё]+)*")
RUSSIAN_VOWELS = frozenset("аеёиоуыэюя")


def normalize(text: str) -> str:
    """Lower-case and fold ``ё`` to ``е`` (ASR output and scripts disagree on it)."""
    return text.lower().replace("ё", "е")


def tokenize(text: str) -> list[str]:
    """Split text into normalised tokens (letters or digits; punctuation dropped)."""
    return TOKEN_RE.findall(normalize(text))


def tokenize_spans(text: str) -> list[tuple[str, int, int]]:
    """Tokens with their character spans ``(token, start, end)`` in ``text``."""
    lowered = normalize(text)  # same length as text: lower() and ё->е keep offsets for Cyrillic
    return [(m.group(0), m.start(), m.end()) for m in TOKEN_RE.finditer(lowered)]


@lru_cache(maxsize=1)
def _morph():  # noqa: ANN202 - pymorphy3 type is internal
    import pymorphy3

    logger.debug("loading pymorphy3 dictionaries")
    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=200_000)
def lemma(token: str) -> str:
    """Normal form of one normalised token (cached); digits and Latin words pass through."""
    if not token or token.isdigit() or not ("а" <= token[0] <= "я"):
        return token
    return normalize(_morph().parse(token)[0].normal_form)


def lemmatize(text: str) -> list[str]:
    """Lemmas of all tokens of ``text``."""
    return [lemma(t) for t in tokenize(text)]


_VOWEL_LIST = tuple(sorted(RUSSIAN_VOWELS))


def count_syllables(text: str) -> int:
    """Syllables in Russian text, counted as vowel letters."""
    return sum(map(text.lower().count, _VOWEL_LIST))
