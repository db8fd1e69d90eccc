"""Map character spans of a segment's text to times, using its word timings."""

from __future__ import annotations

from callqa.types import Segment


def word_char_spans(segment: Segment) -> tuple[tuple[int, int, float, float], ...]:
    """``(char_start, char_end, start_s, end_s)`` for each word of ``segment`` found in its text.

    Words are looked up in order in ``segment.text`` (case-insensitively); a segment without
    word timings gets one span per whitespace-separated word with times spread evenly.
    """
    text = segment.text.lower()
    spans: list[tuple[int, int, float, float]] = []
    if segment.words:
        cursor = 0
        for word in segment.words:
            needle = word.text.strip().lower()
            if not needle:
                continue
            at = text.find(needle, cursor)
            if at < 0:
                continue
            spans.append((at, at + len(needle), word.start_s, word.end_s))
            cursor = at + len(needle)
        if spans:
            return tuple(spans)
    pieces = []
    cursor = 0
    for piece in text.split():
        at = text.find(piece, cursor)
        pieces.append((at, at + len(piece)))
        cursor = at + len(piece)
    if not pieces:
        return ()
    step = (segment.end_s - segment.start_s) / len(pieces)
    return tuple(
        (a, b, segment.start_s + i * step, segment.start_s + (i + 1) * step) for i, (a, b) in enumerate(pieces)
    )


def char_span_times(segment: Segment, char_start: int, char_end: int) -> tuple[float, float]:
    """Start and end time (s) of the words overlapping ``[char_start, char_end)`` of the segment text."""
    hits = [(s, e) for a, b, s, e in word_char_spans(segment) if a < char_end and b > char_start]
    if hits:
        return min(s for s, _ in hits), max(e for _, e in hits)
    length = max(len(segment.text), 1)
    span = segment.end_s - segment.start_s
    return (segment.start_s + span * char_start / length, segment.start_s + span * char_end / length)
