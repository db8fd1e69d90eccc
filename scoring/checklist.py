"""Sales-script checklists: the versioned YAML format, its validation and the loaders.

A checklist is a list of stages, each with items a manager (or client) must or must not say.
Validation walks the YAML node tree (``yaml.compose``) so every error names its line.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from callqa.types import CALL_CLASSES, DIRECTIONS

from .text import tokenize

logger = logging.getLogger(__name__)

FORMAT_VERSIONS: tuple[int, ...] = (1,)
SPEAKERS: tuple[str, ...] = ("manager", "client", "any")
PLACEHOLDERS: tuple[str, ...] = ("company", "manager_name")
STANDARD_STAGES: tuple[str, ...] = ("contact", "needs", "presentation", "objections", "closing")
_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")

_TOP_KEYS = (
    "format", "id", "version", "title", "description", "language", "applies_to",
    "critical_cap", "fuzzy", "max_gap", "stages",
)
_APPLIES_KEYS = ("direction", "class", "lead_form_left", "source_channel", "campaign")
_STAGE_KEYS = ("id", "title", "description", "weight", "items")
_ITEM_KEYS = (
    "id", "title", "description", "speaker", "patterns", "regex", "forbidden", "forbidden_regex",
    "window", "weight", "critical", "applies_to", "fuzzy", "semantic", "trigger", "trigger_speaker",
    "topics", "question",
)
_WINDOW_KEYS = ("first_s", "last_s")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class ChecklistError(ValueError):
    """A checklist file that does not validate; ``errors`` holds ``(line, message)`` pairs."""

    def __init__(self, source: str, errors: Sequence[tuple[int, str]]) -> None:
        self.source = source
        self.errors = list(errors)
        lines = [f"{source}:{line}: {message}" for line, message in self.errors]
        super().__init__(f"invalid checklist ({len(self.errors)} error(s)):\n" + "\n".join(lines))


@dataclass(frozen=True)
class AppliesTo:
    """Which calls a checklist or an item applies to; an empty tuple means any.

    Attributes:
        direction: call directions ("inbound", "outbound", "unknown").
        call_class: classifier classes ("lead", "upsell", ...); YAML key ``class``.
        lead_form_left: only calls where the client did (True) or did not (False) leave a form.
        source_channel: source channels from the call context.
        campaign: campaign names from the call context.
    """

    direction: tuple[str, ...] = ()
    call_class: tuple[str, ...] = ()
    lead_form_left: bool | None = None
    source_channel: tuple[str, ...] = ()
    campaign: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": list(self.direction),
            "class": list(self.call_class),
            "lead_form_left": self.lead_form_left,
            "source_channel": list(self.source_channel),
            "campaign": list(self.campaign),
        }


@dataclass(frozen=True)
class TimeWindow:
    """Where in the call a phrase must be said: in the first ``first_s`` or last ``last_s`` seconds."""

    first_s: float | None = None
    last_s: float | None = None


@dataclass(frozen=True)
class ChecklistItem:
    """One thing to say (``patterns``/``regex``) or not to say (``forbidden``/``forbidden_regex``).

    Patterns are phrases matched on lemmas with fuzzy tolerance; ``{company}`` and ``{manager_name}``
    are filled from the call context. An item passes when any pattern or regex matches (if it has
    any) and no forbidden phrase is found. An item with a ``trigger`` applies only when
    ``trigger_speaker`` says a trigger phrase (e.g. an objection), and its patterns must follow it.

    ``topics`` are lemma sets: each is a tuple of word slots, a slot a tuple of alternative words
    (YAML ``"сейчас пользоваться|работать"``); a topic is found when one sentence of the speaker
    holds a word of every slot, in any order. With ``question`` the sentence must be a question
    (Whisper's "?" or an interrogative opening: как/какой/сколько/где/... or "ли").
    """

    id: str
    title: str
    speaker: str = "manager"
    patterns: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    forbidden_regex: tuple[str, ...] = ()
    window: TimeWindow | None = None
    weight: float = 1.0
    critical: bool = False
    applies_to: AppliesTo = field(default_factory=AppliesTo)
    fuzzy: int | None = None
    semantic: bool = True
    trigger: tuple[str, ...] = ()
    trigger_speaker: str = "client"
    description: str = ""
    line: int = 0
    topics: tuple[tuple[tuple[str, ...], ...], ...] = ()
    question: bool = False

    @property
    def has_positive(self) -> bool:
        return bool(self.patterns or self.regex or self.topics)

    @staticmethod
    def topic_text(topic: tuple[tuple[str, ...], ...]) -> str:
        """A topic written back as in YAML: ``"сейчас пользоваться|работать"``."""
        return " ".join("|".join(slot) for slot in topic)


@dataclass(frozen=True)
class Stage:
    """A stage of the script (contact, needs, presentation, objections, closing or a custom one)."""

    id: str
    title: str
    items: tuple[ChecklistItem, ...]
    weight: float = 1.0
    description: str = ""
    line: int = 0


@dataclass(frozen=True)
class Checklist:
    """A validated, versioned sales-script checklist.

    Attributes:
        id: stable identifier, e.g. ``inbound_lead``.
        version: content version (string); scorecards record it so re-scoring keeps both.
        format_version: version of the YAML format itself (1).
        critical_cap: total-score cap after a critical failure; None uses ScoringOptions.
        fuzzy: rapidfuzz ratio (0-100) a lemma needs to count as a match.
        max_gap: extra tokens allowed between pattern words (ASR insertions, fillers).
    """

    id: str
    version: str
    title: str
    stages: tuple[Stage, ...]
    applies_to: AppliesTo = field(default_factory=AppliesTo)
    format_version: int = 1
    description: str = ""
    language: str = "ru"
    critical_cap: float | None = None
    fuzzy: int = 85
    max_gap: int = 1
    source: str = "<string>"

    def items(self) -> list[tuple[Stage, ChecklistItem]]:
        return [(stage, item) for stage in self.stages for item in stage.items]

    @cached_property
    def compiled(self) -> Any:
        """Precompiled matcher (built once per checklist object)."""
        from .matcher import CompiledChecklist

        return CompiledChecklist(self)


# ---------------------------------------------------------------------------------------------
# YAML parsing with line numbers


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[tuple[int, str]] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def error(self, node: yaml.Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 0
        self.errors.append((line, message))

    def value(self, node: yaml.Node) -> Any:
        return self._constructor.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node, where: str, allowed: Sequence[str]) -> dict[str, yaml.Node] | None:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{where} must be a mapping")
            return None
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                self.error(key_node, f"{where}: keys must be plain strings")
                continue
            if key in out:
                self.error(key_node, f"{where}: duplicate key '{key}'")
                continue
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                self.error(key_node, f"{where}: unknown field '{key}' (valid: {', '.join(allowed)}){hint}")
                continue
            out[key] = value_node
        return out

    def string(self, node: yaml.Node | None, where: str, *, required: bool = False, default: str = "") -> str:
        if node is None:
            if required:
                self.errors.append((0, f"{where} is required"))
            return default
        if not isinstance(node, yaml.ScalarNode):
            self.error(node, f"{where} must be a string")
            return default
        value = self.value(node)
        if value is None or isinstance(value, (list, dict)):
            self.error(node, f"{where} must be a non-empty string")
            return default
        text = str(value).strip()
        if required and not text:
            self.error(node, f"{where} must be a non-empty string")
        return text

    def number(self, node: yaml.Node | None, where: str, default: float | None, *,
               minimum: float, maximum: float | None = None, integer: bool = False) -> float | None:
        if node is None:
            return default
        value = self.value(node) if isinstance(node, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(node, f"{where} must be a number")
            return default
        if integer and not isinstance(value, int):
            self.error(node, f"{where} must be an integer")
            return default
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            self.error(node, f"{where} must be {bounds}, got {value}")
            return default
        return value

    def boolean(self, node: yaml.Node | None, where: str, default: bool | None) -> bool | None:
        if node is None:
            return default
        value = self.value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, bool):
            self.error(node, f"{where} must be true or false")
            return default
        return value

    def strings(self, node: yaml.Node | None, where: str) -> list[tuple[str, yaml.Node]]:
        """A string or a list of strings, each with its node (for line numbers)."""
        if node is None:
            return []
        if isinstance(node, yaml.ScalarNode):
            text = self.string(node, where)
            return [(text, node)] if text else []
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, f"{where} must be a string or a list of strings")
            return []
        out = []
        for child in node.value:
            text = self.string(child, f"{where} entry")
            if text:
                out.append((text, child))
            elif isinstance(child, yaml.ScalarNode):
                self.error(child, f"{where}: empty entry")
        return out

    def choices(self, node: yaml.Node | None, where: str, valid: Sequence[str] | None) -> tuple[str, ...]:
        out = []
        for text, child in self.strings(node, where):
            if valid is not None and text not in valid:
                self.error(child, f"{where}: '{text}' is not one of: {', '.join(valid)}")
                continue
            out.append(text)
        return tuple(out)

    def applies_to(self, node: yaml.Node | None, where: str) -> AppliesTo:
        if node is None:
            return AppliesTo()
        fields = self.mapping(node, where, _APPLIES_KEYS)
        if fields is None:
            return AppliesTo()
        return AppliesTo(
            direction=self.choices(fields.get("direction"), f"{where}.direction", DIRECTIONS),
            call_class=self.choices(fields.get("class"), f"{where}.class", CALL_CLASSES),
            lead_form_left=self.boolean(fields.get("lead_form_left"), f"{where}.lead_form_left", None),
            source_channel=self.choices(fields.get("source_channel"), f"{where}.source_channel", None),
            campaign=self.choices(fields.get("campaign"), f"{where}.campaign", None),
        )

    def phrases(self, node: yaml.Node | None, where: str) -> tuple[str, ...]:
        out = []
        for text, child in self.strings(node, where):
            for name in _PLACEHOLDER_RE.findall(text):
                if name not in PLACEHOLDERS:
                    self.error(child, f"{where}: unknown placeholder '{{{name}}}' (valid: "
                                      + ", ".join("{" + p + "}" for p in PLACEHOLDERS) + ")")
            if not tokenize(_PLACEHOLDER_RE.sub(" ", text)) and not _PLACEHOLDER_RE.search(text):
                self.error(child, f"{where}: phrase '{text}' has no words to match")
                continue
            out.append(text)
        return tuple(out)

    def topics(self, node: yaml.Node | None, where: str) -> tuple[tuple[tuple[str, ...], ...], ...]:
        out = []
        for text, child in self.strings(node, where):
            if _PLACEHOLDER_RE.search(text):
                self.error(child, f"{where}: placeholders are not allowed in topics ('{text}')")
                continue
            slots: list[tuple[str, ...]] = []
            for part in text.split():
                words = [tokenize(alt) for alt in part.split("|")]
                if any(len(w) != 1 for w in words):
                    self.error(child, f"{where}: '{part}' in topic '{text}' must be one word, or alternative "
                                      "single words joined by '|'")
                    break
                slots.append(tuple(dict.fromkeys(w[0] for w in words)))
            else:
                if slots:
                    out.append(tuple(slots))
                else:
                    self.error(child, f"{where}: topic '{text}' has no words to match")
        return tuple(out)

    def regexes(self, node: yaml.Node | None, where: str) -> tuple[str, ...]:
        out = []
        for text, child in self.strings(node, where):
            try:
                re.compile(text)
            except re.error as exc:
                self.error(child, f"{where}: bad regular expression '{text}': {exc}")
                continue
            out.append(text)
        return tuple(out)

    def window(self, node: yaml.Node | None, where: str) -> TimeWindow | None:
        if node is None:
            return None
        fields = self.mapping(node, where, _WINDOW_KEYS)
        if fields is None:
            return None
        if not fields:
            self.error(node, f"{where} needs first_s or last_s")
            return None
        first = self.number(fields.get("first_s"), f"{where}.first_s", None, minimum=0.0)
        last = self.number(fields.get("last_s"), f"{where}.last_s", None, minimum=0.0)
        if first is None and last is None:
            return None
        return TimeWindow(first_s=None if first is None else float(first),
                          last_s=None if last is None else float(last))

    def ident(self, node: yaml.Node | None, where: str) -> str:
        text = self.string(node, where, required=True)
        if text and not _ID_RE.match(text):
            self.error(node, f"{where} '{text}' must be lower-case letters, digits and underscores")
        return text

    def item(self, node: yaml.Node, where: str, seen: set[str]) -> ChecklistItem | None:
        fields = self.mapping(node, where, _ITEM_KEYS)
        if fields is None:
            return None
        if "id" not in fields:
            self.error(node, f"{where}: field 'id' is required")
            return None
        item_id = self.ident(fields["id"], f"{where}.id")
        where = f"item '{item_id}'"
        if item_id in seen:
            self.error(fields["id"], f"{where}: duplicate item id")
        seen.add(item_id)
        speaker = self.string(fields.get("speaker"), f"{where}.speaker", default="manager")
        if speaker not in SPEAKERS:
            self.error(fields.get("speaker"), f"{where}.speaker '{speaker}' is not one of: {', '.join(SPEAKERS)}")
            speaker = "manager"
        patterns = self.phrases(fields.get("patterns"), f"{where}.patterns")
        regex = self.regexes(fields.get("regex"), f"{where}.regex")
        forbidden = self.phrases(fields.get("forbidden"), f"{where}.forbidden")
        forbidden_regex = self.regexes(fields.get("forbidden_regex"), f"{where}.forbidden_regex")
        topics = self.topics(fields.get("topics"), f"{where}.topics")
        question = bool(self.boolean(fields.get("question"), f"{where}.question", False))
        if question and "topics" not in fields:
            self.error(fields.get("question"), f"{where}: question: true needs topics (the words a question "
                                               "must mention)")
        declared = [k for k in ("patterns", "regex", "topics", "forbidden", "forbidden_regex") if k in fields]
        if not declared:
            self.error(node, f"{where}: needs at least one of patterns, regex, topics, forbidden, forbidden_regex")
        fuzzy = self.number(fields.get("fuzzy"), f"{where}.fuzzy", None, minimum=50, maximum=100, integer=True)
        trigger = self.phrases(fields.get("trigger"), f"{where}.trigger")
        trigger_speaker = self.string(fields.get("trigger_speaker"), f"{where}.trigger_speaker", default="client")
        if trigger_speaker not in SPEAKERS:
            self.error(fields.get("trigger_speaker"), f"{where}.trigger_speaker '{trigger_speaker}' is not one of: "
                       f"{', '.join(SPEAKERS)}")
            trigger_speaker = "client"
        if trigger and not (patterns or regex or topics):
            self.error(fields.get("trigger"), f"{where}: a trigger needs patterns, regex or topics to answer it")
        return ChecklistItem(
            id=item_id,
            title=self.string(fields.get("title"), f"{where}.title", default=item_id),
            description=self.string(fields.get("description"), f"{where}.description"),
            speaker=speaker,
            patterns=patterns,
            regex=regex,
            forbidden=forbidden,
            forbidden_regex=forbidden_regex,
            window=self.window(fields.get("window"), f"{where}.window"),
            weight=float(self.number(fields.get("weight"), f"{where}.weight", 1.0, minimum=0.0) or 0.0),
            critical=bool(self.boolean(fields.get("critical"), f"{where}.critical", False)),
            applies_to=self.applies_to(fields.get("applies_to"), f"{where}.applies_to"),
            fuzzy=None if fuzzy is None else int(fuzzy),
            semantic=bool(self.boolean(fields.get("semantic"), f"{where}.semantic", True)),
            trigger=trigger,
            trigger_speaker=trigger_speaker,
            line=node.start_mark.line + 1,
            topics=topics,
            question=question,
        )

    def stage(self, node: yaml.Node, where: str, seen_stages: set[str], seen_items: set[str]) -> Stage | None:
        fields = self.mapping(node, where, _STAGE_KEYS)
        if fields is None:
            return None
        if "id" not in fields:
            self.error(node, f"{where}: field 'id' is required")
            return None
        stage_id = self.ident(fields["id"], f"{where}.id")
        where = f"stage '{stage_id}'"
        if stage_id in seen_stages:
            self.error(fields["id"], f"{where}: duplicate stage id")
        seen_stages.add(stage_id)
        items_node = fields.get("items")
        items: list[ChecklistItem] = []
        if items_node is None:
            self.error(node, f"{where}: field 'items' is required")
        elif not isinstance(items_node, yaml.SequenceNode) or not items_node.value:
            self.error(items_node, f"{where}.items must be a non-empty list")
        else:
            for index, child in enumerate(items_node.value):
                item = self.item(child, f"{where} item #{index + 1}", seen_items)
                if item is not None:
                    items.append(item)
        return Stage(
            id=stage_id,
            title=self.string(fields.get("title"), f"{where}.title", default=stage_id),
            description=self.string(fields.get("description"), f"{where}.description"),
            weight=float(self.number(fields.get("weight"), f"{where}.weight", 1.0, minimum=0.0) or 0.0),
            items=tuple(items),
            line=node.start_mark.line + 1,
        )

    def checklist(self, root: yaml.Node | None) -> Checklist | None:
        if root is None:
            self.errors.append((1, "empty document: a checklist needs id, version and stages"))
            return None
        fields = self.mapping(root, "checklist", _TOP_KEYS)
        if fields is None:
            return None
        for key in ("id", "version", "stages"):
            if key not in fields:
                self.error(root, f"checklist: field '{key}' is required")
        fmt = self.number(fields.get("format"), "format", 1, minimum=1, integer=True)
        if fmt is not None and int(fmt) not in FORMAT_VERSIONS:
            self.error(fields.get("format"), f"format {fmt} is not supported (supported: "
                                             f"{', '.join(map(str, FORMAT_VERSIONS))})")
        checklist_id = self.ident(fields.get("id"), "id") if "id" in fields else ""
        version = self.string(fields.get("version"), "version", required="version" in fields)
        stages: list[Stage] = []
        stages_node = fields.get("stages")
        if stages_node is not None:
            if not isinstance(stages_node, yaml.SequenceNode) or not stages_node.value:
                self.error(stages_node, "stages must be a non-empty list")
            else:
                seen_stages: set[str] = set()
                seen_items: set[str] = set()
                for index, child in enumerate(stages_node.value):
                    stage = self.stage(child, f"stage #{index + 1}", seen_stages, seen_items)
                    if stage is not None:
                        stages.append(stage)
        cap = self.number(fields.get("critical_cap"), "critical_cap", None, minimum=0, maximum=100)
        fuzzy = self.number(fields.get("fuzzy"), "fuzzy", 85, minimum=50, maximum=100, integer=True)
        max_gap = self.number(fields.get("max_gap"), "max_gap", 1, minimum=0, maximum=5, integer=True)
        applies_to = self.applies_to(fields.get("applies_to"), "applies_to")
        title = self.string(fields.get("title"), "title", default=checklist_id)
        description = self.string(fields.get("description"), "description")
        language = self.string(fields.get("language"), "language", default="ru")
        if self.errors:
            return None
        return Checklist(
            id=checklist_id,
            version=version,
            title=title,
            description=description,
            language=language,
            applies_to=applies_to,
            stages=tuple(stages),
            format_version=int(fmt or 1),
            critical_cap=None if cap is None else float(cap),
            fuzzy=int(fuzzy or 85),
            max_gap=int(max_gap if max_gap is not None else 1),
            source=self.source,
        )


def parse_checklist(text: str, *, source: str = "<string>") -> Checklist:
    """Parse and validate checklist YAML text.

    Args:
        text: the YAML document.
        source: name used in error messages (file path).

    Returns:
        The validated checklist.

    Raises:
        ChecklistError: (a ValueError) listing every problem with its line number.
    """
    parser = _Parser(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise ChecklistError(source, [(line, f"YAML syntax error: {exc.problem or exc}")]) from exc
    except yaml.YAMLError as exc:
        raise ChecklistError(source, [(0, f"YAML error: {exc}")]) from exc
    checklist = parser.checklist(root)
    if parser.errors or checklist is None:
        raise ChecklistError(source, sorted(parser.errors))
    checklist.compiled  # noqa: B018 - compile now so pattern problems surface at load time
    return checklist


def packaged_checklist_dir() -> Path:
    """Folder of the checklists shipped with callqa."""
    return Path(str(resources.files("callqa.scoring") / "checklists"))


def load_checklist(source: str | Path) -> Checklist:
    """Load one checklist from a YAML file path or by the id of a packaged checklist.

    Raises:
        ChecklistError: the file does not validate (errors carry line numbers).
        FileNotFoundError: no such file and no packaged checklist with that id.
    """
    path = Path(source)
    if not path.exists() and path.suffix == "" and _ID_RE.match(str(source)):
        packaged = packaged_checklist_dir() / f"{source}.yaml"
        if packaged.exists():
            path = packaged
        else:
            known = ", ".join(sorted(p.stem for p in packaged_checklist_dir().glob("*.yaml")))
            raise FileNotFoundError(f"no checklist file {source!r} and no packaged checklist with that id "
                                    f"(packaged: {known})")
    if not path.is_file():
        raise FileNotFoundError(f"checklist file not found: {path}")
    return parse_checklist(path.read_text(encoding="utf-8"), source=str(path))


def load_checklists(sources: str | Path | Iterable[str | Path] | None = None) -> list[Checklist]:
    """Load several checklists.

    Args:
        sources: None for the packaged checklists, a folder (every ``*.yaml`` in it), or an
            iterable of file paths / packaged ids.

    Returns:
        Checklists sorted by id.

    Raises:
        ValueError: two checklists share an id and version.
    """
    if sources is None:
        paths: list[str | Path] = sorted(packaged_checklist_dir().glob("*.yaml"))
    elif isinstance(sources, (str, Path)) and Path(sources).is_dir():
        paths = sorted(Path(sources).glob("*.yaml")) + sorted(Path(sources).glob("*.yml"))
    elif isinstance(sources, (str, Path)):
        paths = [sources]
    else:
        paths = list(sources)
    checklists = [load_checklist(p) for p in paths]
    seen: dict[tuple[str, str], str] = {}
    for checklist in checklists:
        key = (checklist.id, checklist.version)
        if key in seen:
            raise ValueError(f"checklist {checklist.id} version {checklist.version} is defined twice: "
                             f"{seen[key]} and {checklist.source}")
        seen[key] = checklist.source
    return sorted(checklists, key=lambda c: (c.id, c.version))
