"""Matching checklist items against a transcript: lemmas with fuzzy tolerance, regexes, windows.

Each checklist is compiled once (pattern lemmas get integer ids, regexes are compiled); each call
is indexed once (tokens per role with lemma -> positions, sentences and questions from Whisper's
punctuation). Fuzzy lemma neighbours are cached per compiled checklist, so a word seen in an
earlier call costs one dict lookup.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process

from callqa.types import Segment, Transcript

from .checklist import _PLACEHOLDER_RE, AppliesTo, Checklist, ChecklistItem, Stage, TimeWindow
from .scorecard import Evidence, ItemVerdict
from .spans import char_span_times
from .text import lemma, normalize, tokenize, tokenize_spans

if TYPE_CHECKING:
    from .options import CallContext, ScoringOptions
    from .semantic import SemanticMatcher

logger = logging.getLogger(__name__)

MIN_FUZZY_LEN = 5  # shorter words must match exactly: fuzzy matching of short words is mostly noise
QUOTE_CHARS = 240
_NEIGHBOUR_CACHE_MAX = 200_000
# In a phrase of three or more words one garbled word may score this much under the item's fuzzy
# ratio if the phrase's mean score still reaches it ("как вам выброщаться" for "как к вам обращаться");
# two-word phrases get no slack ("пришлю вам" must not pass for "приглашаю вас").
PHRASE_WORD_SLACK = 10
SLACK_MIN_WORDS = 3
# A company name is also compared letters-only with 1-3 adjacent transcript words run together
# (ASR splits and merges names: "Денталюкс", "опрокат" for "ТехПрокат"); ratio needed:
COMPANY_FUZZY = 75
COMPANY_MIN_LENGTH_SHARE = 0.7
SENTENCE_GAP_S = 1.5
QUESTION_WORDS = 20  # evidence of a topic question quotes at most this many words of it  # a pause this long between segments of one speaker ends an unpunctuated sentence

# Token marks: the punctuation after a token.
MARK_NONE, MARK_CLAUSE, MARK_SENTENCE, MARK_QUESTION = 0, 1, 2, 3
_CLAUSE_CHARS = frozenset(",;:—–-()«»\"")
_SENTENCE_CHARS = frozenset(".!…")
# Question openings (lemmas). At a sentence start any of these makes a question; after a comma
# only the ones that are rarely conjunctions ("сожалею, что...", "перезвоню, когда...").
INTERROGATIVES = frozenset({"как", "какой", "каков", "что", "сколько", "когда", "где", "куда", "откуда",
                            "почему", "зачем", "кто", "чей", "насколько", "отчего", "неужели"})
CLAUSE_INTERROGATIVES = frozenset({"как", "какой", "каков", "сколько", "куда", "откуда", "почему", "зачем",
                                   "насколько", "чей"})
# Requests for information open a question too ("Подскажите ваше имя").
ASKING_FORMS = frozenset({"скажите", "подскажите", "расскажите", "уточните", "поделитесь", "скажи",
                          "подскажи", "расскажи", "уточни"})
QUESTION_LEAD_WORDS = frozenset({"а", "и", "но", "ну", "вот", "тогда", "кстати", "еще", "пожалуйста",
                                 "скажите", "подскажите", "уточните", "слушайте", "простите", "извините"})
# "как раз", "как только", "что касается": conjunctions, not questions.
_NOT_QUESTION_NEXT = {"как": frozenset({"раз", "только", "и", "будто", "правило", "минимум", "максимум",
                                         "обычно", "всегда", "договаривались", "договорились", "положено",
                                         "видите", "видно", "говорится", "известно", "принято"}),
                      "что": frozenset({"касается", "ж"})}


@dataclass
class TokenStream:
    """Tokens one role said, in time order."""

    lemmas: list[str] = field(default_factory=list)
    surface: list[str] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    segments: list[int] = field(default_factory=list)
    marks: list[int] = field(default_factory=list)
    positions: dict[str, list[int]] = field(default_factory=dict)
    surface_positions: dict[str, list[int]] = field(default_factory=dict)
    # Filled on first use by CallIndex.sentences(): sentence number of each position, the first
    # position of the question each position belongs to (-1: not in a question), sentence ends.
    sentence_of: list[int] | None = None
    question_start: list[int] | None = None
    sentence_end: list[int] | None = None


def _mark(between: str) -> int:
    """What punctuation between two tokens says: nothing, a clause break, a sentence end, a '?'."""
    if not between or between.isspace():
        return MARK_NONE
    if "?" in between:
        return MARK_QUESTION
    chars = set(between)
    if chars & _SENTENCE_CHARS:
        return MARK_SENTENCE
    if chars & _CLAUSE_CHARS:
        return MARK_CLAUSE
    return MARK_NONE


@lru_cache(maxsize=100_000)
def word_tokens(text: str) -> tuple[tuple[str, str, int], ...]:
    """``(token, lemma, mark)`` of one ASR word or text (cached: words repeat across calls); the
    mark is the punctuation after the token (``MARK_*``); a "." or "," between digits is none."""
    spans = tokenize_spans(text)
    out = []
    for i, (token, _, end) in enumerate(spans):
        nxt = spans[i + 1] if i + 1 < len(spans) else None
        between = text[end:nxt[1]] if nxt else text[end:]
        mark = _mark(between)
        if nxt and mark and token.isdigit() and nxt[0].isdigit() and between in (".", ",", ":"):
            mark = MARK_NONE  # 12.00, 2,5, 10:30
        out.append((token, lemma(token), mark))
    return tuple(out)


class CallIndex:
    """Tokens of one call, per role ("manager", "client", "unknown" and "any"), built once."""

    def __init__(self, transcript: Transcript, segment_roles: list[str]) -> None:
        self.transcript = transcript
        self.segments = transcript.segments
        self.segment_roles = segment_roles
        # One flat token list: (lemma, surface, start_s, end_s, segment index, role, mark).
        tokens: list[tuple[str, str, float, float, int, str, int]] = []
        append = tokens.append
        last_end = 0.0
        for index, (segment, role) in enumerate(zip(self.segments, segment_roles, strict=True)):
            if segment.end_s > last_end:
                last_end = segment.end_s
            if segment.words:
                for word in segment.words:
                    for token, lem, mark in word_tokens(word.text):
                        append((lem, token, word.start_s, word.end_s, index, role, mark))
            else:
                triples = word_tokens(segment.text)
                step = (segment.end_s - segment.start_s) / max(len(triples), 1)
                for i, (token, lem, mark) in enumerate(triples):
                    start = segment.start_s + i * step
                    append((lem, token, start, start + step, index, role, mark))
        self._tokens = tokens
        self._streams: dict[str, TokenStream] = {}
        self.duration_s = max(transcript.duration_s, last_end)
        self._pid_maps: dict[tuple[int, str], dict[int, dict[int, float]]] = {}
        self._pid_present: dict[tuple[int, str], set[int]] = {}
        self._role_segments: dict[str, list[tuple[int, Segment, str]]] = {}
        self._lemma_maps: dict[tuple[str, str, int], dict[int, float]] = {}
        self._norm_texts: list[str] | None = None
        self.semantic_cache: dict[Any, Any] = {}
        self._has_speech: dict[str, bool] = {}

    def stream(self, role: str) -> TokenStream:
        """The tokens a role said ("any" for everyone), built on first use."""
        stream = self._streams.get(role)
        if stream is None:
            chosen = self._tokens if role == "any" else [t for t in self._tokens if t[5] == role]
            if chosen:
                lemmas, surface, starts, ends, segments, _, marks = map(list, zip(*chosen, strict=True))
                stream = TokenStream(lemmas=lemmas, surface=surface, starts=starts, ends=ends, segments=segments,
                                     marks=marks)
            else:
                stream = TokenStream()
            positions: dict[str, list[int]] = {}
            surface_positions: dict[str, list[int]] = {}
            for pos, (lem, surface) in enumerate(zip(stream.lemmas, stream.surface, strict=True)):
                found = positions.get(lem)
                if found is None:
                    positions[lem] = [pos]
                else:
                    found.append(pos)
                if surface != lem:
                    found = surface_positions.get(surface)
                    if found is None:
                        surface_positions[surface] = [pos]
                    else:
                        found.append(pos)
            stream.positions = positions
            stream.surface_positions = surface_positions
            self._streams[role] = stream
        return stream

    def sentences(self, role: str) -> TokenStream:
        """The role's stream with sentences and questions marked (built on first use).

        A sentence ends at ".", "!", "?" or "…", at a change of segment after such a mark, at a
        pause over ``SENTENCE_GAP_S`` or where the other party spoke in between (Whisper often
        splits one sentence over two segments without punctuation). A question is a sentence ending
        with "?" or, from the clause where it starts, a clause opening (after lead words such as
        "а", "скажите") with an interrogative word, an asking form ("подскажите") or with "ли"
        among its first words.
        """
        stream = self.stream(role)
        if stream.sentence_of is not None:
            return stream
        n = len(stream.lemmas)
        lemmas, surface, marks, segs = stream.lemmas, stream.surface, stream.marks, stream.segments
        starts, ends, roles = stream.starts, stream.ends, self.segment_roles
        speakers = [s.speaker for s in self.segments]
        # Sentence starts: after a sentence mark, or at a segment change with a long pause, another
        # party in between or another speaker.
        cuts = [pos for pos in range(1, n) if marks[pos - 1] >= MARK_SENTENCE or (
            segs[pos] != segs[pos - 1] and (
                segs[pos] > segs[pos - 1] + 1 or starts[pos] - ends[pos - 1] > SENTENCE_GAP_S
                or speakers[segs[pos]] != speakers[segs[pos - 1]] or roles[segs[pos]] != roles[segs[pos - 1]]))]
        sentence_of: list[int] = []
        question_start = [-1] * n
        sentence_end: list[int] = []
        for first, nxt in zip([0, *cuts], [*cuts, n], strict=True):
            if nxt <= first:
                continue
            last = nxt - 1
            sentence_end.append(last)
            sentence_of.extend([len(sentence_end) - 1] * (nxt - first))
            start = first if marks[last] == MARK_QUESTION else _question_opening(lemmas, surface, marks, first, last)
            if start >= 0:
                question_start[start:nxt] = [start] * (nxt - start)
        stream.sentence_of, stream.question_start, stream.sentence_end = sentence_of, question_start, sentence_end
        return stream

    @property
    def norm_texts(self) -> list[str]:
        if self._norm_texts is None:
            self._norm_texts = [normalize(s.text) for s in self.segments]
        return self._norm_texts

    def has_speech(self, role: str) -> bool:
        found = self._has_speech.get(role)
        if found is None:
            found = self._has_speech[role] = bool(self.stream(role).lemmas) or any(
                (role == "any" or r == role) and s.text.strip()
                for s, r in zip(self.segments, self.segment_roles, strict=True)
            )
        return found

    def pid_map(self, role: str) -> dict[int, dict[int, float]]:
        """Pattern-lemma id -> {position in the role's stream: fuzzy score 0-100}."""
        key = (VOCABULARY.generation, role)
        cached = self._pid_maps.get(key)
        if cached is not None:
            return cached
        out: dict[int, dict[int, float]] = defaultdict(dict)
        stream = self.stream(role)
        # Lemma positions first: each position has one lemma, so for one pattern id the words'
        # position lists are disjoint and every position is new (scores are > 0).
        for word, positions in stream.positions.items():
            for pid, score in VOCABULARY.neighbours(word):
                target = out[pid]
                if score > 0.0:
                    target.update(dict.fromkeys(positions, score))
        for word, positions in stream.surface_positions.items():
            for pid, score in VOCABULARY.neighbours(word):
                target = out[pid]
                for pos in positions:
                    if score > target.get(pos, 0.0):
                        target[pos] = score
        self._pid_maps[key] = out
        self._pid_present[key] = set(out)
        return out

    def pid_present(self, role: str) -> set[int]:
        """Ids of the pattern words a role said (the keys of :meth:`pid_map`)."""
        key = (VOCABULARY.generation, role)
        found = self._pid_present.get(key)
        if found is None:
            self.pid_map(role)
            found = self._pid_present[key]
        return found

    def role_segments(self, role: str) -> list[tuple[int, Segment, str]]:
        """``(index, segment, normalised text)`` of a role's segments ("any": all)."""
        found = self._role_segments.get(role)
        if found is None:
            found = self._role_segments[role] = [
                (i, s, t) for i, (s, r, t) in enumerate(zip(self.segments, self.segment_roles, self.norm_texts,
                                                            strict=True)) if role == "any" or r == role]
        return found

    def lemma_map(self, role: str, lem: str, threshold: int) -> dict[int, float]:
        """Positions of one (context-filled) lemma in a role's stream, with fuzzy scores."""
        key = (role, lem, threshold)
        cached = self._lemma_maps.get(key)
        if cached is not None:
            return cached
        stream = self.stream(role)
        out = {pos: 100.0 for pos in stream.positions.get(lem, ())}
        if len(lem) >= MIN_FUZZY_LEN:
            for choice, score, _ in process.extract(lem, list(stream.positions), scorer=fuzz.ratio,
                                                    score_cutoff=threshold, limit=None):
                if choice != lem:
                    for pos in stream.positions[choice]:
                        out[pos] = score
        self._lemma_maps[key] = out
        return out

    def find_name(self, role: str, name: str, window: TimeWindow | None,
                  after_s: float = 0.0) -> tuple[int, int, float] | None:
        """A company name said with ASR merges or splits: the name letters-only against 1-3 adjacent
        words of one segment run together (``COMPANY_FUZZY`` ratio, at least
        ``COMPANY_MIN_LENGTH_SHARE`` of the name's length). Returns (first, last position, score)."""
        squashed = _squashed(name)
        if len(squashed) < MIN_FUZZY_LEN:
            return None
        stream = self.stream(role)
        starts, ends, segs, surface = stream.starts, stream.ends, stream.segments, stream.surface
        min_len, max_len = COMPANY_MIN_LENGTH_SHARE * len(squashed), 1.3 * len(squashed)
        candidates: list[str] = []
        spans: list[tuple[int, int]] = []
        for p0 in range(len(surface)):
            if window is not None and window.first_s is not None and starts[p0] > window.first_s:
                break
            if starts[p0] < after_s:
                continue
            joined = ""
            for p1 in range(p0, min(p0 + 3, len(surface))):
                if segs[p1] != segs[p0]:
                    break
                joined += surface[p1]
                if len(joined) > max_len:
                    break
                if len(joined) >= min_len and in_window(starts[p0], ends[p1], window, self.duration_s):
                    candidates.append(joined)
                    spans.append((p0, p1))
        found = process.extract(squashed, candidates, scorer=fuzz.ratio, score_cutoff=COMPANY_FUZZY, limit=None)
        if not found:
            return None
        _, score, at = min(found, key=lambda hit: hit[2])  # the earliest
        return spans[at][0], spans[at][1], float(score)


_ESCAPE_RE = re.compile(r"\\.")


def _compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a checklist regex for lower-cased text. IGNORECASE (several times slower on Cyrillic)
    is only needed when the pattern has upper-case letters outside escapes such as ``\\D``."""
    literal = _ESCAPE_RE.sub("", pattern)
    return re.compile(pattern, re.IGNORECASE if literal != literal.lower() else 0)


@lru_cache(maxsize=1024)
def _squashed(name: str) -> str:
    return "".join(tokenize(name))


@lru_cache(maxsize=4096)
def _template_tokens(text: str) -> tuple[str, ...]:
    return tuple(lemma(t) for t in tokenize(text))


def _question_opening(lemmas: list[str], surface: list[str], marks: list[int], first: int, last: int) -> int:
    """First position of the first clause of a sentence that opens like a question, else -1."""
    clause = first
    while clause <= last:
        pos, skipped = clause, 0
        while pos <= last and skipped < 2 and surface[pos] in QUESTION_LEAD_WORDS and pos < last:
            if surface[pos] in ASKING_FORMS:
                return clause
            pos, skipped = pos + 1, skipped + 1
        word = lemmas[pos]
        allowed = INTERROGATIVES if clause == first else CLAUSE_INTERROGATIVES
        if surface[pos] in ASKING_FORMS:
            return clause
        if word in allowed and not (pos < last and surface[pos + 1] in _NOT_QUESTION_NEXT.get(word, ())):
            return clause
        if any(lemmas[p] == "ли" for p in range(pos + 1, min(pos + 4, last + 1))):
            return clause
        # next clause: after the next clause mark inside the sentence
        nxt = pos
        while nxt < last and marks[nxt] != MARK_CLAUSE:
            nxt += 1
        clause = nxt + 1
    return -1


@dataclass(frozen=True)
class CompiledPhrase:
    text: str
    pids: tuple[int, ...] = ()
    template: bool = False
    pid_set: frozenset[int] = frozenset()


@dataclass(frozen=True)
class CompiledItem:
    item: ChecklistItem
    patterns: tuple[CompiledPhrase, ...]
    forbidden: tuple[CompiledPhrase, ...]
    regex: tuple[re.Pattern[str], ...]
    forbidden_regex: tuple[re.Pattern[str], ...]
    threshold: int
    trigger: tuple[CompiledPhrase, ...] = ()
    # Topics: per topic, per slot, the pattern-word ids of the alternatives.
    topics: tuple[tuple[tuple[int, ...], ...], ...] = ()
    forbidden_threshold: int = 100


class Vocabulary:
    """Words of every compiled checklist pattern, interned to ids (one id per pattern lemma), with
    a cache of the ids each transcript word matches. A transcript word matches a pattern word when
    its lemma or its surface form equals or fuzzily resembles the pattern word's lemma or surface
    form (surface forms catch ASR misspellings that lemmatise oddly: "здраствуйте"). Shared by all
    checklists so a call is matched against their union once."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self._key_ids: dict[str, set[int]] = {}
        self.fuzzy_keys: list[str] = []
        self.min_fuzzy = 100
        self.generation = 0  # bumped when the vocabulary changes; call indexes check it
        self._neighbours: dict[str, tuple[tuple[int, float], ...]] = {}

    def intern(self, lem: str, surface: str) -> int:
        pid = self.ids.get(lem)
        if pid is None:
            pid = self.ids[lem] = len(self.ids)
        for key in {lem, surface}:
            owners = self._key_ids.get(key)
            if owners is None:
                owners = self._key_ids[key] = set()
                if len(key) >= MIN_FUZZY_LEN:
                    self.fuzzy_keys.append(key)
            if pid not in owners:
                owners.add(pid)
                self._changed()
        return pid

    def allow_fuzzy(self, threshold: int) -> None:
        if threshold < self.min_fuzzy:
            self.min_fuzzy = threshold
            self._changed()

    def _changed(self) -> None:
        self.generation += 1
        self._neighbours.clear()

    def neighbours(self, word: str) -> tuple[tuple[int, float], ...]:
        """Pattern-word ids (with scores 0-100) a transcript lemma or surface form matches; cached."""
        found = self._neighbours.get(word)
        if found is not None:
            return found
        best: dict[int, float] = {pid: 100.0 for pid in self._key_ids.get(word, ())}
        if len(word) >= MIN_FUZZY_LEN and self.fuzzy_keys:
            for key, score, _ in process.extract(word, self.fuzzy_keys, scorer=fuzz.ratio,
                                                 score_cutoff=self.min_fuzzy, limit=None):
                for pid in self._key_ids[key]:
                    if score > best.get(pid, 0.0):
                        best[pid] = float(score)
        if len(self._neighbours) > _NEIGHBOUR_CACHE_MAX:
            self._neighbours.clear()
        result = self._neighbours[word] = tuple(best.items())
        return result


VOCABULARY = Vocabulary()


class CompiledChecklist:
    """A checklist with pattern lemmas interned and regexes compiled."""

    def __init__(self, checklist: Checklist) -> None:
        self.checklist = checklist
        self.items: dict[str, CompiledItem] = {}
        VOCABULARY.allow_fuzzy(checklist.fuzzy - PHRASE_WORD_SLACK)
        for _, item in checklist.items():
            threshold = item.fuzzy if item.fuzzy is not None else checklist.fuzzy
            VOCABULARY.allow_fuzzy(threshold - PHRASE_WORD_SLACK)
            self.items[item.id] = CompiledItem(
                item=item,
                patterns=tuple(self._phrase(p) for p in item.patterns),
                forbidden=tuple(self._phrase(p) for p in item.forbidden),
                regex=tuple(_compile_regex(r) for r in item.regex),
                forbidden_regex=tuple(_compile_regex(r) for r in item.forbidden_regex),
                threshold=threshold,
                trigger=tuple(self._phrase(p) for p in item.trigger),
                topics=tuple(tuple(tuple(VOCABULARY.intern(lemma(w), w) for w in slot) for slot in topic)
                             for topic in item.topics),
                # Forbidden phrases match exactly (lemma or surface form) unless the item sets fuzzy:
                # a fuzzy false positive on rudeness would fail a critical item unfairly.
                forbidden_threshold=item.fuzzy if item.fuzzy is not None else 100,
            )

    @staticmethod
    def _phrase(text: str) -> CompiledPhrase:
        if _PLACEHOLDER_RE.search(text):
            return CompiledPhrase(text=text, template=True)
        pids = tuple(VOCABULARY.intern(lemma(t), t) for t in tokenize(text))
        return CompiledPhrase(text=text, pids=pids, pid_set=frozenset(pids))


# ---------------------------------------------------------------------------------------------


def in_window(start_s: float, end_s: float, window: TimeWindow | None, duration_s: float) -> bool:
    """Whether a phrase at ``[start_s, end_s]`` lies in the item's time window."""
    if window is None:
        return True
    if window.first_s is not None and start_s > window.first_s:
        return False
    if window.last_s is not None and end_s < duration_s - window.last_s:
        return False
    return True


def describe_window(window: TimeWindow | None) -> str:
    if window is None:
        return ""
    parts = []
    if window.first_s is not None:
        parts.append(f"in the first {window.first_s:g} s")
    if window.last_s is not None:
        parts.append(f"in the last {window.last_s:g} s")
    return " " + " and ".join(parts)


_ANY = AppliesTo()


def applies(applies_to: AppliesTo, context: CallContext, call_class: str | None,
            policy: str) -> tuple[bool, str]:
    """Whether a checklist/item filter admits this call; the reason when it does not."""
    if applies_to == _ANY:
        return True, ""
    if applies_to.direction:
        if context.direction == "unknown" and "unknown" not in applies_to.direction:
            if policy == "skip":
                return False, "call direction unknown"
        elif context.direction not in applies_to.direction:
            return False, f"direction is {context.direction}, applies to {'/'.join(applies_to.direction)}"
    if applies_to.call_class:
        if call_class is None:
            if policy == "skip":
                return False, "call class unknown"
        elif call_class not in applies_to.call_class:
            return False, f"call class is {call_class}, applies to {'/'.join(applies_to.call_class)}"
    if applies_to.lead_form_left is not None:
        # Only judged when the fact is known: a wrong "you left a request" needs to know none was left.
        if context.lead_form_left is None:
            return False, "whether the client left a request is unknown"
        if context.lead_form_left != applies_to.lead_form_left:
            return False, f"lead_form_left is {context.lead_form_left}"
    if applies_to.source_channel and context.source_channel not in applies_to.source_channel:
        return False, f"source channel is {context.source_channel}"
    if applies_to.campaign and context.campaign not in applies_to.campaign:
        return False, f"campaign is {context.campaign}"
    return True, ""


def expand_template(text: str, context: CallContext) -> list[str]:
    """Fill ``{company}`` / ``{manager_name}``; no result when the context lacks the value."""
    return list(_expand(text, context.company_names, context.manager_name))


@lru_cache(maxsize=4096)
def _expand(text: str, company_names: tuple[str, ...], manager_name: str | None) -> tuple[str, ...]:
    values: dict[str, list[str]] = {"company": [c for c in company_names if c.strip()]}
    names = []
    if manager_name and manager_name.strip():
        names.append(manager_name.strip())
        first = manager_name.split()[0]
        if first != names[0]:
            names.append(first)
    values["manager_name"] = names
    out = [text]
    for name in set(_PLACEHOLDER_RE.findall(text)):
        out = [t.replace("{" + name + "}", v) for t in out for v in values.get(name, [])]
    return tuple(out)


def _find_sequence(maps: list[dict[int, float]], stream: TokenStream, threshold: int, max_gap: int,
                   max_gap_s: float, window: TimeWindow | None, duration_s: float,
                   after_s: float = 0.0, slack: int = PHRASE_WORD_SLACK) -> tuple[int, int, float] | None:
    """First occurrence of a token sequence (each token a position->score map) in a stream.

    Each word needs ``threshold``, except that in a phrase of ``SLACK_MIN_WORDS`` or more words one
    word may score down to ``threshold - slack`` when the words' mean score reaches ``threshold``.
    Returns (first position, last position, mean score).
    """
    if not maps or any(not m for m in maps):
        return None
    floor = threshold - slack if len(maps) >= SLACK_MIN_WORDS else threshold
    starts, ends = stream.starts, stream.ends
    if len(maps) == 1:  # one-word phrase: the earliest admissible position
        best: int | None = None
        for p0, score in maps[0].items():
            if score >= threshold and (best is None or p0 < best) and starts[p0] >= after_s \
                    and in_window(starts[p0], ends[p0], window, duration_s):
                best = p0
        return None if best is None else (best, best, maps[0][best])
    for p0 in sorted(p for p, s in maps[0].items() if s >= floor):
        if window is not None and window.first_s is not None and starts[p0] > window.first_s:
            break  # positions are time-ordered: nothing later can be inside the window
        if starts[p0] < after_s:
            continue
        cur, total, ok = p0, maps[0][p0], True
        weak = int(total < threshold)
        for token_map in maps[1:]:
            nxt = None
            for q in range(cur + 1, cur + 2 + max_gap):
                s = token_map.get(q)
                if s is not None and s >= floor:
                    nxt = q
                    break
            if nxt is None or starts[nxt] - ends[cur] > max_gap_s:
                ok = False
                break
            cur, total, weak = nxt, total + s, weak + (s < threshold)
        mean = total / len(maps)
        if ok and weak <= 1 and mean >= threshold and in_window(starts[p0], ends[cur], window, duration_s):
            return p0, cur, mean
    return None


def _quote(text: str, char_start: int = 0) -> str:
    text = text.strip()
    if len(text) <= QUOTE_CHARS:
        return text
    begin = max(0, min(char_start - QUOTE_CHARS // 3, len(text) - QUOTE_CHARS))
    return ("…" if begin else "") + text[begin:begin + QUOTE_CHARS].strip() + "…"


class ItemMatcher:
    """Evaluates the items of one compiled checklist on one indexed call."""

    def __init__(self, compiled: CompiledChecklist, index: CallIndex, context: CallContext,
                 options: ScoringOptions, roles_unknown: bool,
                 semantic: SemanticMatcher | None = None) -> None:
        self.compiled = compiled
        self.index = index
        self.context = context
        self.options = options
        self.roles_unknown = roles_unknown
        self.semantic = semantic

    def _role(self, item: ChecklistItem) -> str:
        return "any" if self.roles_unknown or item.speaker == "any" else item.speaker

    def _evidence_from_tokens(self, role: str, p0: int, p1: int, pattern: str, method: str,
                              score: float) -> Evidence:
        stream = self.index.stream(role)
        seg_index = stream.segments[p0]
        segment = self.index.segments[seg_index]
        matched = " ".join(stream.surface[p0:p1 + 1])
        at = self.index.norm_texts[seg_index].find(stream.surface[p0])
        return Evidence(
            quote=_quote(segment.text, max(at, 0)),
            matched=matched,
            start_s=round(stream.starts[p0], 3),
            end_s=round(stream.ends[p1], 3),
            speaker=segment.speaker or self.index.segment_roles[seg_index],
            role=self.index.segment_roles[seg_index],
            pattern=pattern,
            method=method,
            score=round(score / 100.0, 3),
        )

    def find_phrases(self, phrases: tuple[CompiledPhrase, ...], role: str, threshold: int,
                     window: TimeWindow | None, after_s: float = 0.0, earliest: bool = False,
                     slack: int = PHRASE_WORD_SLACK) -> Evidence | None:
        """The first phrase (in checklist order, or the earliest in time) found in a role's speech."""
        stream = self.index.stream(role)
        if not stream.lemmas:
            return None
        max_gap = self.compiled.checklist.max_gap
        pid_map = self.index.pid_map(role)
        present = self.index.pid_present(role)
        best: tuple[int, int, float, str] | None = None
        for phrase in phrases:
            if not phrase.template and not phrase.pid_set.issubset(present):
                continue  # some word of the phrase is never said: the usual, cheap case
            if phrase.template:
                candidates = [
                    (text, [self.index.lemma_map(role, lem, threshold - slack) for lem in _template_tokens(text)])
                    for text in expand_template(phrase.text, self.context)
                ]
            else:
                candidates = [(phrase.text, [pid_map[pid] for pid in phrase.pids])]
            for text, maps in candidates:
                found = _find_sequence(maps, stream, threshold, max_gap, self.options.max_gap_s, window,
                                       self.index.duration_s, after_s, slack)
                if found is None and phrase.template and phrase.text.strip() == "{company}":
                    found = self.index.find_name(role, text, window, after_s)
                if found is not None:
                    p0, p1, score = found
                    if not earliest:
                        return self._evidence_from_tokens(role, p0, p1, phrase.text, "lemma", score)
                    if best is None or p0 < best[0]:
                        best = (p0, p1, score, phrase.text)
        if best is not None:
            return self._evidence_from_tokens(role, best[0], best[1], best[3], "lemma", best[2])
        return None

    def find_topics(self, item: ChecklistItem, compiled: CompiledItem, role: str, window: TimeWindow | None,
                    after_s: float = 0.0) -> Evidence | None:
        """The earliest sentence (question, for ``question`` items) holding a word of every slot of
        one of the item's topics; evidence quotes the question (or the matched words)."""
        stream = self.index.sentences(role)
        if not stream.lemmas:
            return None
        pid_map = self.index.pid_map(role)
        threshold = compiled.threshold
        sentence_of, question_start = stream.sentence_of, stream.question_start
        assert sentence_of is not None and question_start is not None and stream.sentence_end is not None
        best: tuple[int, int, int, float, str] | None = None  # (sentence, first pos, last pos, score, topic)
        for topic_text, topic in zip(item.topics, compiled.topics, strict=True):
            per_sentence: dict[int, dict[int, float]] | None = None
            for slot in topic:
                hits: dict[int, dict[int, float]] = {}
                for pid in slot:
                    for pos, score in (pid_map.get(pid) or {}).items():
                        if score < threshold or stream.starts[pos] < after_s:
                            continue
                        if item.question and question_start[pos] < 0:
                            continue
                        hits.setdefault(sentence_of[pos], {})
                        if score > hits[sentence_of[pos]].get(pos, 0.0):
                            hits[sentence_of[pos]][pos] = score
                if per_sentence is None:
                    per_sentence = hits
                else:
                    per_sentence = {k: {**per_sentence[k], **v} for k, v in hits.items() if k in per_sentence}
                if not per_sentence:
                    break
            for number in sorted(per_sentence or ()):
                if best is not None and number >= best[0]:
                    break
                positions = per_sentence[number]  # type: ignore[index]
                first = min(positions)
                last = max(positions)
                if item.question:
                    first = min(first, question_start[first])
                    last = stream.sentence_end[number]
                if in_window(stream.starts[first], stream.ends[last], window, self.index.duration_s):
                    score = min(positions.values())
                    best = (number, first, last, score, ChecklistItem.topic_text(topic_text))
                    break
        if best is None:
            return None
        _, first, last, score, text = best
        if last - first >= QUESTION_WORDS:
            last = first + QUESTION_WORDS - 1
        return self._evidence_from_tokens(role, first, last, text, "question" if item.question else "topic", score)

    def find_regex(self, regexes: tuple[re.Pattern[str], ...], role: str,
                   window: TimeWindow | None, after_s: float = 0.0) -> Evidence | None:
        first_s = window.first_s if window is not None else None
        last_from_s = self.index.duration_s - window.last_s if window is not None and window.last_s is not None \
            else None
        for seg_index, segment, text in self.index.role_segments(role):
            if (first_s is not None and segment.start_s > first_s) or segment.end_s < after_s or (
                    last_from_s is not None and segment.end_s < last_from_s):
                continue  # no match inside this segment can be in the window
            seg_role = self.index.segment_roles[seg_index]
            for regex in regexes:
                for m in regex.finditer(text):
                    if m.end() <= m.start():
                        continue
                    start_s, end_s = char_span_times(segment, m.start(), m.end())
                    if start_s >= after_s and in_window(start_s, end_s, window, self.index.duration_s):
                        return Evidence(
                            quote=_quote(segment.text, m.start()),
                            matched=segment.text[m.start():m.end()],
                            start_s=round(start_s, 3),
                            end_s=round(end_s, 3),
                            speaker=segment.speaker or seg_role,
                            role=seg_role,
                            pattern=regex.pattern,
                            method="regex",
                        )
        return None

    def evaluate(self, stage: Stage, item: ChecklistItem, call_class: str | None) -> ItemVerdict:
        def verdict(status: str, reason: str, evidence: tuple[Evidence, ...] = ()) -> ItemVerdict:
            return ItemVerdict(item_id=item.id, stage_id=stage.id, title=item.title, status=status,  # type: ignore[arg-type]
                               reason=reason, evidence=evidence, weight=item.weight, critical=item.critical)

        ok, why = applies(item.applies_to, self.context, call_class, self.options.unknown_policy)
        if not ok:
            return verdict("not_applicable", f"does not apply: {why}")
        role = self._role(item)
        if not self.index.has_speech(role):
            return verdict("not_applicable", f"no {role} speech in the transcript")
        compiled = self.compiled.items[item.id]
        where = f"{role} speech" if role != "any" else "the call"
        window_text = describe_window(item.window)

        forbidden = None
        if compiled.forbidden:
            forbidden = self.find_phrases(compiled.forbidden, role, compiled.forbidden_threshold, item.window,
                                          earliest=True, slack=0)
        if forbidden is None and compiled.forbidden_regex:
            forbidden = self.find_regex(compiled.forbidden_regex, role, item.window)
        if forbidden is not None:
            return verdict("failed", f"forbidden phrase said: '{forbidden.matched}'", (forbidden,))

        if not item.has_positive:
            return verdict("passed", f"no forbidden phrase in {where}{window_text}")

        after_s = 0.0
        trigger: tuple[Evidence, ...] = ()
        if compiled.trigger:
            trigger_role = "any" if self.roles_unknown or item.trigger_speaker == "any" else item.trigger_speaker
            said = self.find_phrases(compiled.trigger, trigger_role, compiled.threshold, None, earliest=True) \
                if self.index.has_speech(trigger_role) else None
            if said is None:
                return verdict("not_applicable", f"no trigger phrase from the {item.trigger_speaker}")
            after_s, trigger = said.start_s, (said,)

        usable = [p for p in compiled.patterns if not p.template or expand_template(p.text, self.context)]
        if not usable and not compiled.regex and not compiled.topics:
            missing = sorted({n for p in compiled.patterns for n in _PLACEHOLDER_RE.findall(p.text)})
            return verdict("not_applicable", "the call context has no " + " / ".join(missing)
                           + " to look for")
        found = self.find_phrases(tuple(usable), role, compiled.threshold, item.window, after_s) \
            if usable else None
        if found is None and compiled.regex:
            found = self.find_regex(compiled.regex, role, item.window, after_s)
        if found is None and compiled.topics:
            found = self.find_topics(item, compiled, role, item.window, after_s)
        if found is None and self.semantic is not None and item.semantic and item.patterns:
            texts = [t for p in usable for t in (expand_template(p.text, self.context) if p.template else [p.text])]
            found = self.semantic.find(texts, self.index, role, item.window, after_s)
        if found is not None:
            how = {"lemma": "phrase", "regex": "pattern", "semantic": "similar phrase",
                   "question": f"question on '{found.pattern}'", "topic": f"sentence on '{found.pattern}'"}[found.method]
            after = f" after the {item.trigger_speaker}'s '{trigger[0].matched}'" if trigger else ""
            return verdict("passed", f"{how} found in {where}{window_text}{after}", (found, *trigger))
        if trigger:
            return verdict("failed", f"no answer in {where}{window_text} after the {item.trigger_speaker}'s "
                           f"'{trigger[0].matched}'", trigger)
        if compiled.topics and not (compiled.patterns or compiled.regex):
            what = "question" if item.question else "sentence"
            return verdict("failed", f"no {what} on this item's topics in {where}{window_text}")
        if compiled.topics:
            what = "question" if item.question else "sentence"
            return verdict("failed", f"no phrase of this item and no {what} on its topics in {where}{window_text}")
        return verdict("failed", f"no phrase of this item found in {where}{window_text}")
