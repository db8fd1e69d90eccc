"""Guard against Whisper's known telephony hallucinations (text over silence, hold music, tones)."""

from __future__ import annotations

import re

# Phrases Whisper produces from silence/music, learned from subtitle data (normalised text).
KNOWN_HALLUCINATIONS: tuple[str, ...] = (
    "продолжение следует",
    "субтитры сделал",
    "субтитры делал",
    "субтитры создавал",
    "субтитры подогнал",
    "субтитры подготовил",
    "редактор субтитров",
    "корректор субтитров",
    "спасибо за просмотр",
    "спасибо за внимание",
    "подписывайтесь на канал",
    "ставьте лайки",
    "dimatorzok",
    "amara org",
    "игорь негода",
    "а семкин",
    "thank you for watching",
    "thanks for watching",
    "subtitles by",
)
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Lowercase, ё->е, punctuation removed, spaces collapsed (the WER normalisation)."""
    text = text.lower().replace("ё", "е")
    text = _PUNCT.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


# Words that may stand beside a known phrase in a credit line ("Корректор А.Егорова").
_CREDIT_WORDS = frozenset({"корректор", "редактор", "переводчик", "субтитры", "субтитров", "автор", "и"})
_MAX_REST_WORDS = 3


def is_known_hallucination(text: str) -> bool:
    """True when the segment text is (mostly) a known hallucination phrase: what is left after removing
    the known phrases and credit words is at most three short words (a name and initials)."""
    norm = normalise_text(text)
    if not norm:
        return True
    stripped = norm
    for phrase in KNOWN_HALLUCINATIONS:
        stripped = stripped.replace(phrase, " ")
    if stripped == norm:  # no known phrase in it
        return False
    rest = [w for w in stripped.split() if w not in _CREDIT_WORDS]
    return len(rest) <= _MAX_REST_WORDS


def looks_hallucinated(text: str, *, no_speech_prob: float, avg_logprob: float, compression_ratio: float,
                       no_speech_threshold: float, log_prob_threshold: float,
                       compression_ratio_threshold: float) -> str | None:
    """Reason to drop a decoded segment, or None to keep it."""
    if is_known_hallucination(text):
        return "known_phrase"
    if compression_ratio > compression_ratio_threshold:
        return "repetition"
    if no_speech_prob > no_speech_threshold and avg_logprob < log_prob_threshold:
        return "no_speech"
    return None
