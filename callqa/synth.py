"""Offline Russian dialogue synthesiser for demos and tests (festival + sox, no network, no models).

Text is normalised to Cyrillic words (festival's Russian voice reads nothing else), every turn is
spoken by one festival process, the client's voice is pitch-shifted with sox so that diarization sees
two speakers, and the turns are laid out with seeded pauses. The result is a stereo PBX-style or a
mono recording, optionally band-limited to a telephone line, plus the exact reference of who spoke when.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from num2words import num2words

from callqa.types import Turn

logger = logging.getLogger(__name__)

FESTIVAL_VOICE = "msu_ru_nsh_clunits"
FESTIVAL_VOICE_DIRS: tuple[Path, ...] = (
    Path("/usr/share/festival/voices/russian") / FESTIVAL_VOICE,
    Path("/usr/lib/festival/voices/russian") / FESTIVAL_VOICE,
)
SYNTH_ROLES: tuple[str, ...] = ("manager", "client")
AUDIO_FORMATS: tuple[str, ...] = ("wav", "mp3", "ogg", "flac")
ENCODINGS: tuple[str, ...] = ("pcm16", "ulaw", "alaw")
FESTIVAL_SAMPLE_RATE_HZ = 16_000
PHONE_SAMPLE_RATE_HZ = 8_000
PHONE_BAND_HZ = (300, 3400)

# --------------------------------------------------------------------------------------------------
# Text normalisation
# --------------------------------------------------------------------------------------------------

# Latin words and acronyms that occur in Russian sales talk, spelled the way a Russian speaker says them.
LATIN_WORDS: dict[str, str] = {
    "crm": "си эр эм",
    "saas": "саас",
    "api": "эй пи ай",
    "it": "ай ти",
    "ok": "окей",
    "okay": "окей",
    "sms": "эс эм эс",
    "pdf": "пэ дэ эф",
    "email": "имейл",
    "e-mail": "имейл",
    "mail": "мейл",
    "online": "онлайн",
    "offline": "офлайн",
    "whatsapp": "ватсап",
    "telegram": "телеграм",
    "viber": "вайбер",
    "zoom": "зум",
    "excel": "эксель",
    "google": "гугл",
    "yandex": "яндекс",
    "avito": "авито",
    "bitrix": "битрикс",
    "amocrm": "амо си эр эм",
    "demo": "демо",
    "pro": "про",
    "start": "старт",
    "business": "бизнес",
    "premium": "премиум",
    "manager": "менеджер",
    "wi-fi": "вай фай",
    "wifi": "вай фай",
    "vip": "вип",
    "id": "ай ди",
    "ip": "ай пи",
    "pbx": "пи би экс",
    "b2b": "би ту би",
}

# English letter names as Russians say them, for acronyms not in the dictionary.
LATIN_LETTER_NAMES: dict[str, str] = {
    "a": "эй", "b": "би", "c": "си", "d": "ди", "e": "и", "f": "эф", "g": "джи", "h": "эйч",
    "i": "ай", "j": "джей", "k": "кей", "l": "эл", "m": "эм", "n": "эн", "o": "оу", "p": "пи",
    "q": "кью", "r": "ар", "s": "эс", "t": "ти", "u": "ю", "v": "ви", "w": "дабл ю", "x": "икс",
    "y": "уай", "z": "зед",
}  # fmt: skip

# Phonetic transliteration for ordinary Latin words (digraphs first).
_LATIN_DIGRAPHS: tuple[tuple[str, str], ...] = (
    ("sch", "ш"), ("sh", "ш"), ("ch", "ч"), ("th", "т"), ("ph", "ф"), ("ck", "к"), ("qu", "кв"),
    ("oo", "у"), ("ee", "и"), ("ea", "и"), ("ou", "ау"), ("kh", "х"), ("zh", "ж"), ("ts", "ц"),
    ("ya", "я"), ("yu", "ю"), ("yo", "ё"),
)  # fmt: skip
_LATIN_LETTERS: dict[str, str] = {
    "a": "а", "b": "б", "c": "к", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "х", "i": "и",
    "j": "дж", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "q": "к", "r": "р",
    "s": "с", "t": "т", "u": "у", "v": "в", "w": "в", "x": "кс", "y": "и", "z": "з",
}  # fmt: skip

_MONTHS_GENITIVE = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip
# Noun stems that take feminine numerals ("две недели", "одна минута").
_FEMININE_STEMS = (
    "недел", "минут", "секунд", "тысяч", "штук", "смен", "позици", "единиц", "машин", "модел",
    "заявк", "лицензи", "пломб", "коронк", "створк", "рам", "камер", "точк", "копейк", "ставк",
)  # fmt: skip
_NEUTER_STEMS = ("окн", "мест", "кресл", "рабоч", "устройств")
_GENITIVE_PREPOSITIONS = ("до", "с", "со", "после", "от", "около", "из")

_EMAIL_PUNCT = {".": " точка ", "@": " собака ", "_": " нижнее подчёркивание ", "-": " дефис "}
_SYMBOLS: dict[str, str] = {
    "%": " процентов ",
    "№": " номер ",
    "&": " и ",
    "+": " плюс ",
    "₽": " рублей ",
    "$": " долларов ",
    "€": " евро ",
    "@": " собака ",
}

_TIME_RE = re.compile(r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])")
_PHONE_RE = re.compile(r"(?<!\d)(\+7|8)[\s-]?\(?(\d{3})\)?[\s-]?(\d{3})[\s-]?(\d{2})[\s-]?(\d{2})(?!\d)")
_THOUSANDS_RE = re.compile(r"(?<![\d,.])(\d{1,3})((?:[ \u00a0\u202f]\d{3})+)(?![\d,])")
_DECIMAL_RE = re.compile(r"(?<!\d)(\d+)[,.](\d+)(?!\d)")
_DATE_RE = re.compile(r"(?<!\d)(\d{1,2})\s+(" + "|".join(_MONTHS_GENITIVE) + r")\b", re.IGNORECASE)
_PERCENT_RE = re.compile(r"(\d+(?:[,.]\d+)?)\s*%")
_NUMBER_RE = re.compile(r"\d+")
_LATIN_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*")
_SPACES_RE = re.compile(r"\s+")
_EMAIL_RE = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_URL_DOT_RE = re.compile(r"(?<=[A-Za-z0-9])\.(?=(?:ru|com|рф|net|org|io)\b)", re.IGNORECASE)


def _plural_form(number: int, one: str, few: str, many: str) -> str:
    """Russian noun form after ``number``: 1 -> one, 2-4 -> few, else many."""
    n = abs(number) % 100
    if 11 <= n <= 14:
        return many
    if n % 10 == 1:
        return one
    if 2 <= n % 10 <= 4:
        return few
    return many


def _cardinal(number: int, gender: str = "m", case: str = "n") -> str:
    return str(num2words(number, lang="ru", gender=gender, case=case))


def _spell_time(match: re.Match[str]) -> str:
    hours, minutes = int(match.group(1)), match.group(2)
    hours_text = _cardinal(hours)
    if minutes == "00":
        minutes_text = "ноль ноль"
    elif minutes.startswith("0"):
        minutes_text = "ноль " + _cardinal(int(minutes[1]))
    else:
        minutes_text = _cardinal(int(minutes))
    return f" {hours_text} {minutes_text} "


def _spell_phone(match: re.Match[str]) -> str:
    prefix, *groups = match.groups()
    words = ["плюс семь" if prefix == "+7" else "восемь"]
    for group in groups:
        if group.startswith("0"):
            words.extend(_cardinal(int(digit)) for digit in group)
        else:
            words.append(_cardinal(int(group)))
    return " " + " ".join(words) + " "


def _spell_date(match: re.Match[str], text: str) -> str:
    day, month = int(match.group(1)), match.group(2)
    preceding = text[: match.start()].split()
    case = "n"
    if preceding:
        word = preceding[-1].lower()
        if word in _GENITIVE_PREPOSITIONS:
            case = "g"
        elif word in ("к", "ко"):
            case = "d"
    return f" {num2words(day, lang='ru', to='ordinal', gender='n', case=case)} {month} "


def _spell_percent(match: re.Match[str]) -> str:
    raw = match.group(1).replace(",", ".")
    if "." in raw:
        whole, frac = raw.split(".")
        return f" {_spell_decimal(whole, frac)} процента "
    number = int(raw)
    noun = _plural_form(number, "процент", "процента", "процентов")
    return f" {_cardinal(number)} {noun} "


def _spell_decimal(whole: str, frac: str) -> str:
    whole_n, frac_n = int(whole), int(frac)
    whole_text = _cardinal(whole_n, gender="f") + " " + _plural_form(whole_n, "целая", "целых", "целых")
    scale = {1: ("десятая", "десятых"), 2: ("сотая", "сотых"), 3: ("тысячная", "тысячных")}
    if len(frac) not in scale:
        return whole_text + " " + " ".join(_cardinal(int(d)) for d in frac)
    one, many = scale[len(frac)]
    frac_noun = one if frac_n % 10 == 1 and frac_n % 100 != 11 else many
    return f"{whole_text} {_cardinal(frac_n, gender='f')} {frac_noun}"


def _gender_of_next_word(rest: str) -> str:
    following = rest.split(maxsplit=1)
    if not following:
        return "m"
    word = following[0].lower().strip(".,!?;:»\"'")
    if word.startswith(_FEMININE_STEMS):
        return "f"
    if word.startswith(_NEUTER_STEMS):
        return "n"
    return "m"


def _spell_numbers(text: str) -> str:
    parts: list[str] = []
    position = 0
    for match in _NUMBER_RE.finditer(text):
        parts.append(text[position : match.start()])
        digits = match.group(0)
        if len(digits) > 1 and digits.startswith("0"):
            spoken = " ".join(_cardinal(int(d)) for d in digits)
        elif len(digits) > 15:
            spoken = " ".join(_cardinal(int(d)) for d in digits)
        else:
            spoken = _cardinal(int(digits), gender=_gender_of_next_word(text[match.end() :]))
        parts.append(f" {spoken} ")
        position = match.end()
    parts.append(text[position:])
    return "".join(parts)


def transliterate_latin(word: str) -> str:
    """Spell one Latin word (or acronym) in Cyrillic the way a Russian speaker would say it.

    Dictionary words first (``CRM`` -> ``си эр эм``), then all-caps acronyms letter by letter
    (``KPI`` -> ``кей пи ай``), then a phonetic letter-to-letter transliteration (``Smart`` -> ``смарт``).
    Trailing digits are spelled as a number (``B2B`` is in the dictionary; ``Pro100`` -> ``про сто``).
    """
    if not word:
        return ""
    key = word.lower()
    if key in LATIN_WORDS:
        return LATIN_WORDS[key]
    runs = re.findall(r"[A-Za-z'-]+|\d+", word)
    if len(runs) > 1:
        return " ".join(transliterate_latin(run) for run in runs)
    if key.isdigit():
        return _cardinal(int(key))
    letters = key.replace("-", "").replace("'", "")
    if not letters:
        return ""
    if (word.isupper() and len(letters) <= 5) or not re.search(r"[aeiouy]", letters):
        return " ".join(LATIN_LETTER_NAMES[c] for c in letters)
    out: list[str] = []
    i = 0
    while i < len(letters):
        for latin, cyrillic in _LATIN_DIGRAPHS:
            if letters.startswith(latin, i):
                out.append(cyrillic)
                i += len(latin)
                break
        else:
            char = letters[i]
            if char == "c" and i + 1 < len(letters) and letters[i + 1] in "eiy":
                out.append("с")
            elif char == "e" and i == len(letters) - 1 and len(letters) > 2:
                pass  # silent final e: "online" -> "онлайн" style
            else:
                out.append(_LATIN_LETTERS[char])
            i += 1
    return "".join(out)


def normalize_for_tts(text: str) -> str:
    """Rewrite ``text`` so that festival's Russian voice can read all of it.

    Spells out times (``в 15:30`` -> ``в пятнадцать тридцать``), phone numbers, dates
    (``15 мая`` -> ``пятнадцатое мая``), percentages, decimals, numbers with the gender of the
    following noun (``2 недели`` -> ``две недели``), Latin words and acronyms, and symbols.

    Args:
        text: one utterance in Russian, possibly with digits, Latin words and symbols.

    Returns:
        The same utterance in Cyrillic words and punctuation only, single-spaced.

    Raises:
        ValueError: if ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    out = text.replace("\u00a0", " ").replace("\u202f", " ")
    out = _EMAIL_RE.sub(
        lambda m: " " + re.sub(r"[.@_-]", lambda c: _EMAIL_PUNCT[c.group(0)], m.group(0)) + " ", out
    )
    out = _URL_DOT_RE.sub(" точка ", out)
    out = _PHONE_RE.sub(_spell_phone, out)
    out = _TIME_RE.sub(_spell_time, out)
    out = _THOUSANDS_RE.sub(lambda m: m.group(1) + re.sub(r"\s", "", m.group(2)), out)
    out = _PERCENT_RE.sub(_spell_percent, out)
    out = _DATE_RE.sub(lambda m: _spell_date(m, out), out)
    out = _DECIMAL_RE.sub(lambda m: f" {_spell_decimal(m.group(1), m.group(2))} ", out)
    out = _LATIN_RE.sub(lambda m: f" {transliterate_latin(m.group(0))} ", out)
    out = _spell_numbers(out)
    for symbol, spoken in _SYMBOLS.items():
        out = out.replace(symbol, spoken)
    # Quotes, brackets and dashes carry no sound; festival would spell some of them.
    out = re.sub(r"[«»\"“”„()\[\]{}*_/\\|<>#=~^`]", " ", out)
    out = re.sub(r"\s[—–-]\s", ", ", out)
    out = re.sub(r"[—–]", " ", out)
    out = _SPACES_RE.sub(" ", out).strip()
    out = re.sub(r"\s+([,.!?;:])", r"\1", out)
    return out


# --------------------------------------------------------------------------------------------------
# Dialogue description and reference
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DialogueTurn:
    """One line of a dialogue script.

    Attributes:
        role: ``manager`` or ``client``.
        text: what is said, in Russian (digits and Latin words are normalised before synthesis).
    """

    role: str
    text: str

    def __post_init__(self) -> None:
        if self.role not in SYNTH_ROLES:
            raise ValueError(f"turn role {self.role!r} is not one of: {', '.join(SYNTH_ROLES)}")
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError("turn text must be a non-empty string")


@dataclass(frozen=True)
class VoiceOptions:
    """How one party's voice is derived from the festival voice.

    Attributes:
        pitch_cents: sox pitch shift in cents (100 cents = one semitone), -1200..1200.
        tempo: speed factor without pitch change, 0.7..1.4 (1.0 = festival's own rate).
        gain_db: level relative to the normalised turn loudness, -20..6 dB.
    """

    pitch_cents: float = 0.0
    tempo: float = 1.0
    gain_db: float = 0.0

    def __post_init__(self) -> None:
        if not -1200 <= self.pitch_cents <= 1200:
            raise ValueError(f"pitch_cents must be in -1200..1200, got {self.pitch_cents}")
        if not 0.7 <= self.tempo <= 1.4:
            raise ValueError(f"tempo must be in 0.7..1.4, got {self.tempo}")
        if not -20 <= self.gain_db <= 6:
            raise ValueError(f"gain_db must be in -20..6, got {self.gain_db}")

    @property
    def is_identity(self) -> bool:
        return self.pitch_cents == 0 and self.tempo == 1.0


@dataclass(frozen=True)
class SynthOptions:
    """Layout and rendering options for :func:`synthesize_dialogue`.

    Attributes:
        manager_voice: voice of the manager (festival voice unchanged by default).
        client_voice: voice of the client (pitched up 400 cents and slightly faster by default,
            so that a diarizer sees two clearly different speakers).
        pause_min_s: shortest pause between turns, seconds.
        pause_max_s: longest pause between turns, seconds.
        overlap_probability: chance, 0..1, that a turn starts before the other party has finished.
        overlap_max_s: longest overlap, seconds (never more than half of the previous turn).
        lead_in_s: silence before the first turn, seconds.
        tail_s: silence after the last turn, seconds.
        line_noise_dbfs: level of the seeded white noise on each channel, dBFS, or None for none.
        turn_level_dbfs: RMS level every turn is normalised to, dBFS.
    """

    manager_voice: VoiceOptions = field(default_factory=VoiceOptions)
    client_voice: VoiceOptions = field(default_factory=lambda: VoiceOptions(pitch_cents=400.0, tempo=1.05))
    pause_min_s: float = 0.3
    pause_max_s: float = 1.2
    overlap_probability: float = 0.0
    overlap_max_s: float = 0.4
    lead_in_s: float = 0.4
    tail_s: float = 0.5
    line_noise_dbfs: float | None = -62.0
    turn_level_dbfs: float = -20.0

    def __post_init__(self) -> None:
        if not 0 <= self.pause_min_s <= self.pause_max_s <= 10:
            raise ValueError(
                f"need 0 <= pause_min_s <= pause_max_s <= 10, got {self.pause_min_s}, {self.pause_max_s}"
            )
        if not 0 <= self.overlap_probability <= 1:
            raise ValueError(f"overlap_probability must be in 0..1, got {self.overlap_probability}")
        if not 0 <= self.overlap_max_s <= 3:
            raise ValueError(f"overlap_max_s must be in 0..3, got {self.overlap_max_s}")
        if self.lead_in_s < 0 or self.tail_s < 0:
            raise ValueError("lead_in_s and tail_s must be >= 0")
        if self.line_noise_dbfs is not None and not -120 <= self.line_noise_dbfs <= -20:
            raise ValueError(f"line_noise_dbfs must be in -120..-20 or None, got {self.line_noise_dbfs}")
        if not -40 <= self.turn_level_dbfs <= -3:
            raise ValueError(f"turn_level_dbfs must be in -40..-3, got {self.turn_level_dbfs}")

    def voice_of(self, role: str) -> VoiceOptions:
        return self.manager_voice if role == "manager" else self.client_voice


@dataclass(frozen=True)
class ReferenceTurn:
    """Where one turn lies in the rendered audio (exact, from the synthesis layout).

    Attributes:
        start_s: first speech sample of the turn, seconds from the start of the file.
        end_s: last speech sample of the turn, seconds.
        role: ``manager`` or ``client``.
        text: the script text.
        spoken_text: the normalised text festival actually read.
    """

    start_s: float
    end_s: float
    role: str
    text: str
    spoken_text: str

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class DialogueReference:
    """Ground truth for one synthesised dialogue.

    Attributes:
        audio_path: the rendered file.
        sample_rate_hz: its sample rate (8 kHz for a phone line, else 16 kHz).
        n_channels: 2 for PBX-style stereo, 1 for a mono mix.
        duration_s: its duration, seconds.
        turns: the turns in time order.
        channel_map: for stereo, role -> channel index; empty for mono.
        seed: the seed the layout was drawn with.
    """

    audio_path: Path
    sample_rate_hz: int
    n_channels: int
    duration_s: float
    turns: tuple[ReferenceTurn, ...]
    channel_map: dict[str, int]
    seed: int

    @property
    def text(self) -> str:
        """All script text in turn order, space-joined."""
        return " ".join(turn.text for turn in self.turns)

    def speaker_turns(self) -> tuple[Turn, ...]:
        """The reference as diarization turns (speaker = role), for DER against ``Transcript.turns``."""
        return tuple(Turn(start_s=t.start_s, end_s=t.end_s, speaker=t.role) for t in self.turns)

    def role_text(self, role: str) -> str:
        return " ".join(turn.text for turn in self.turns if turn.role == role)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["audio_path"] = self.audio_path.name
        data["turns"] = [asdict(turn) for turn in self.turns]
        return data

    def to_rttm(self, uri: str | None = None) -> str:
        """RTTM lines (one ``SPEAKER`` line per turn, speaker = role), newline-terminated."""
        name = uri or self.audio_path.stem
        lines = [
            f"SPEAKER {name} 1 {turn.start_s:.3f} {turn.duration_s:.3f} <NA> <NA> {turn.role} <NA> <NA>"
            for turn in self.turns
        ]
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# External tools
# --------------------------------------------------------------------------------------------------


class SynthToolMissing(RuntimeError):
    """festival, its Russian voice or sox is not installed."""


def _voice_dir() -> Path | None:
    return next((path for path in FESTIVAL_VOICE_DIRS if path.is_dir()), None)


def missing_tools() -> list[str]:
    """Names of what synthesis needs and this machine lacks (empty when all is there)."""
    missing = [tool for tool in ("festival", "sox") if shutil.which(tool) is None]
    if _voice_dir() is None:
        missing.append(f"festival voice {FESTIVAL_VOICE} (Debian package festvox-ru)")
    return missing


def festival_available() -> bool:
    """True when festival, the Russian voice and sox are all installed (for test skip logic)."""
    return not missing_tools()


def _require_tools() -> None:
    missing = missing_tools()
    if missing:
        raise SynthToolMissing(
            "speech synthesis needs " + ", ".join(missing) + "; on Debian/Ubuntu: "
            "apt-get install festival festvox-ru sox libsox-fmt-all"
        )


def _run(command: Sequence[str], *, what: str, timeout_s: float = 600.0) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except FileNotFoundError as exc:
        raise SynthToolMissing(f"{command[0]} is not installed ({what})") from exc
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {result.returncode}): {result.stderr.strip()[-800:]}")


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def speak_texts(texts: Sequence[str], work_dir: Path) -> list[Path]:
    """Speak already-normalised texts with festival's Russian voice, one 16 kHz mono WAV each.

    One festival process speaks all texts (loading the voice takes most of text2wave's time).

    Args:
        texts: Cyrillic utterances (see :func:`normalize_for_tts`).
        work_dir: existing directory for the WAV files.

    Returns:
        Paths of the WAV files, in the order of ``texts``.
    """
    _require_tools()
    paths = [work_dir / f"turn_{index:03d}.wav" for index in range(len(texts))]
    lines = [f"(voice_{FESTIVAL_VOICE})"]
    for text, path in zip(texts, paths, strict=True):
        lines.append(
            f"(utt.save.wave (utt.synth (Utterance Text {_scheme_string(text)})) {_scheme_string(str(path))} 'riff)"
        )
    script = work_dir / "speak.scm"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _run(["festival", "--batch", str(script)], what="festival synthesis")
    for path in paths:
        if not path.is_file():
            raise RuntimeError(f"festival did not write {path}")
    return paths


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    """16-bit PCM WAV -> float32 (n_channels, n_samples), sample rate."""
    with wave.open(str(path), "rb") as handle:
        if handle.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM, got {8 * handle.getsampwidth()}-bit")
        n_channels, rate = handle.getnchannels(), handle.getframerate()
        raw = handle.readframes(handle.getnframes())
    data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return data.reshape(-1, n_channels).T.copy(), rate


def _write_wav(path: Path, samples: np.ndarray, sample_rate_hz: int) -> None:
    """float32 (n_channels, n_samples) -> 16-bit PCM WAV."""
    clipped = np.clip(samples, -1.0, 32767.0 / 32768.0)
    pcm = np.round(clipped * 32768.0).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(samples.shape[0])
        handle.setsampwidth(2)
        handle.setframerate(sample_rate_hz)
        handle.writeframes(pcm.T.tobytes())


def _apply_voice(path: Path, voice: VoiceOptions) -> Path:
    if voice.is_identity:
        return path
    out = path.with_name(path.stem + "_voiced.wav")
    effects: list[str] = []
    if voice.pitch_cents:
        effects += ["pitch", f"{voice.pitch_cents:g}"]
    if voice.tempo != 1.0:
        effects += ["tempo", "-s", f"{voice.tempo:g}"]
    _run(["sox", "-R", str(path), str(out), *effects], what="sox voice change")
    return out


def _trim_silence(samples: np.ndarray, sample_rate_hz: int, threshold_dbfs: float = -45.0) -> np.ndarray:
    """Cut leading/trailing silence (10 ms frames below ``threshold_dbfs`` RMS), keeping 10 ms margins."""
    frame = sample_rate_hz // 100
    n_frames = len(samples) // frame
    if n_frames == 0:
        return samples
    frames = samples[: n_frames * frame].reshape(n_frames, frame)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    voiced = np.flatnonzero(20 * np.log10(rms) > threshold_dbfs)
    if voiced.size == 0:
        return samples
    start = max(0, (voiced[0] - 1) * frame)
    end = min(len(samples), (voiced[-1] + 2) * frame)
    return samples[start:end]


def _normalise_level(samples: np.ndarray, level_dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    if rms <= 1e-6:
        return samples
    gain = 10 ** (level_dbfs / 20) / rms
    peak = float(np.max(np.abs(samples))) * gain
    if peak > 0.89:  # keep peaks below -1 dBFS
        gain *= 0.89 / peak
    return (samples * gain).astype(np.float32)


def _coerce_turns(turns: Iterable[DialogueTurn | Mapping[str, Any]]) -> list[DialogueTurn]:
    coerced: list[DialogueTurn] = []
    for index, turn in enumerate(turns):
        if isinstance(turn, DialogueTurn):
            coerced.append(turn)
        elif isinstance(turn, Mapping):
            if "role" not in turn or "text" not in turn:
                raise ValueError(f"turn {index} needs 'role' and 'text', got keys {sorted(turn)}")
            coerced.append(DialogueTurn(role=str(turn["role"]), text=str(turn["text"])))
        else:
            raise ValueError(f"turn {index} must be a DialogueTurn or a mapping, got {type(turn).__name__}")
    if not coerced:
        raise ValueError("a dialogue needs at least one turn")
    return coerced


def _render_line(mix_path: Path, line_path: Path, *, phone_line: bool) -> None:
    """Band-limit to 300-3400 Hz and resample to 8 kHz (phone line), or copy as is."""
    command = ["sox", "-R", str(mix_path), str(line_path)]
    if phone_line:
        low, high = PHONE_BAND_HZ
        command += ["sinc", f"{low}-{high}", "rate", "-v", str(PHONE_SAMPLE_RATE_HZ)]
    _run(command, what="sox phone line")


def _encode(
    line_path: Path, out_path: Path, *, audio_format: str, encoding: str, sample_rate_hz: int
) -> None:
    """Write the final container/codec with sox."""
    command = ["sox", "-R", str(line_path)]
    if audio_format == "wav" and encoding == "ulaw":
        command += ["-e", "u-law", "-b", "8"]
    elif audio_format == "wav" and encoding == "alaw":
        command += ["-e", "a-law", "-b", "8"]
    elif audio_format == "mp3":
        command += ["-C", "24" if sample_rate_hz <= 8000 else "48"]  # CBR kbit/s, plenty for speech
    elif audio_format == "ogg":
        command += ["-C", "1"]  # vorbis quality 0..10
    command.append(str(out_path))
    _run(command, what=f"sox encode to {audio_format}")


def _decode_with_av(path: Path) -> tuple[np.ndarray, int]:
    """Decode like ingest does (PyAV/FFmpeg): float32 (n_channels, n_samples), sample rate."""
    import av  # core dependency; imported here so that text normalisation needs nothing but num2words

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        layout = "stereo" if stream.channels == 2 else "mono"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=stream.rate)
        chunks = [
            frame.to_ndarray()
            for packet_frame in container.decode(stream)
            for frame in resampler.resample(packet_frame)
        ]
        chunks += [frame.to_ndarray() for frame in resampler.resample(None)]
        rate = int(stream.rate)
    if not chunks:
        raise RuntimeError(f"{path} decoded to no audio")
    return np.concatenate(chunks, axis=1).astype(np.float32), rate


def _codec_delay_s(
    original: np.ndarray, decoded: np.ndarray, sample_rate_hz: int, max_lag_s: float = 0.5
) -> float:
    """Lag of ``decoded`` behind ``original`` (lossy codecs pad the start), by cross-correlation."""
    a = original.sum(axis=0).astype(np.float64)
    b = decoded.sum(axis=0).astype(np.float64)
    size = 1 << int(math.ceil(math.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    max_lag = int(max_lag_s * sample_rate_hz)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([corr[: max_lag + 1], corr[size - max_lag :]])
    return float(lags[int(np.argmax(values))]) / sample_rate_hz


def _probe(path: Path) -> tuple[int, int, float]:
    """(sample_rate_hz, n_channels, duration_s) of any file sox can read."""
    result = subprocess.run(["soxi", str(path)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"soxi cannot read {path}: {result.stderr.strip()}")
    info = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in result.stdout.splitlines())
        if value
    )
    rate = int(info["Sample Rate"])
    channels = int(info["Channels"])
    samples_match = re.search(r"=\s*(\d+)\s+samples", info.get("Duration", ""))
    duration = int(samples_match.group(1)) / rate if samples_match else float("nan")
    return rate, channels, duration


def synthesize_dialogue(
    turns: Iterable[DialogueTurn | Mapping[str, Any]],
    *,
    out_dir: str | Path,
    stereo: bool,
    phone_line: bool,
    seed: int,
    name: str = "dialogue",
    audio_format: str = "wav",
    encoding: str = "pcm16",
    options: SynthOptions | None = None,
    reference_dir: str | Path | None = None,
) -> tuple[Path, DialogueReference]:
    """Render a two-party Russian dialogue and return the file with its exact reference.

    Takes about one second per turn on one CPU core (festival is the slow part).

    Args:
        turns: ``DialogueTurn`` objects or mappings with ``role`` (manager/client) and ``text``.
        out_dir: directory for the audio file (created if missing).
        stereo: True for PBX-style stereo (manager on channel 0 / left, client on channel 1 / right,
            each channel carrying only its party), False for a mono mix.
        phone_line: band-pass 300-3400 Hz and resample to 8 kHz; otherwise 16 kHz full band.
        seed: seed for pauses, overlaps and line noise (same seed, same file).
        name: file stem; the file is ``<out_dir>/<name>.<audio_format>``.
        audio_format: one of ``wav``, ``mp3``, ``ogg``, ``flac``.
        encoding: for ``wav`` only: ``pcm16``, ``ulaw`` or ``alaw`` (8-bit G.711, as PBXs store calls).
        options: voices and layout; defaults to :class:`SynthOptions`.
        reference_dir: if given, also write ``<name>.json`` and ``<name>.rttm`` there.
            Keep it apart from ``out_dir``: ingest reads ``<stem>.json`` beside audio as a sidecar.

    Returns:
        (audio path, reference). Reference turn times are those of the speech in the file.

    Raises:
        ValueError: bad turns or options.
        SynthToolMissing: festival, the Russian voice or sox is not installed.
        RuntimeError: festival or sox failed.
    """
    options = options or SynthOptions()
    if audio_format not in AUDIO_FORMATS:
        raise ValueError(f"audio_format {audio_format!r} is not one of: {', '.join(AUDIO_FORMATS)}")
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding {encoding!r} is not one of: {', '.join(ENCODINGS)}")
    if encoding != "pcm16" and audio_format != "wav":
        raise ValueError(f"encoding {encoding!r} applies to wav only, not {audio_format}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"name {name!r} must be a plain file stem (letters, digits, _ . -)")
    script = _coerce_turns(turns)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {seed!r}")
    _require_tools()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    spoken = [normalize_for_tts(turn.text) for turn in script]
    for index, text in enumerate(spoken):
        if not re.search(r"[а-яё]", text, re.IGNORECASE):
            raise ValueError(
                f"turn {index} has nothing festival can read after normalisation: {script[index].text!r}"
            )

    with tempfile.TemporaryDirectory(prefix="callqa-synth-") as tmp:
        work_dir = Path(tmp)
        raw_paths = speak_texts(spoken, work_dir)
        rate = FESTIVAL_SAMPLE_RATE_HZ
        clips: list[np.ndarray] = []
        for turn, raw_path in zip(script, raw_paths, strict=True):
            voiced_path = _apply_voice(raw_path, options.voice_of(turn.role))
            samples, clip_rate = _read_wav(voiced_path)
            if clip_rate != rate:
                raise RuntimeError(f"festival wrote {clip_rate} Hz, expected {rate} Hz")
            # Level first, so that the silence threshold is relative to the speech level.
            clip = _normalise_level(samples[0], options.turn_level_dbfs + options.voice_of(turn.role).gain_db)
            clip = _trim_silence(clip, rate, threshold_dbfs=options.turn_level_dbfs - 30.0)
            clips.append(clip)

        # Lay out the turns on a common timeline, in samples.
        starts: list[int] = []
        cursor = int(round(options.lead_in_s * rate))
        for index, turn in enumerate(script):
            if index > 0:
                previous_start, previous_len = starts[-1], len(clips[index - 1])
                previous_end = previous_start + previous_len
                if (
                    script[index - 1].role != turn.role
                    and options.overlap_probability > 0
                    and rng.random() < options.overlap_probability
                ):
                    overlap = min(rng.uniform(0.1, max(0.1, options.overlap_max_s)), previous_len / rate / 2)
                    cursor = previous_end - int(round(overlap * rate))
                else:
                    pause = rng.uniform(options.pause_min_s, options.pause_max_s)
                    cursor = previous_end + int(round(pause * rate))
                # Never start before the same party's own previous turn has ended.
                same_role_ends = [
                    s + len(c) for s, c, t in zip(starts, clips, script, strict=False) if t.role == turn.role
                ]
                if same_role_ends:
                    cursor = max(cursor, max(same_role_ends) + int(0.1 * rate))
            starts.append(cursor)
        total = max(s + len(c) for s, c in zip(starts, clips, strict=True)) + int(
            round(options.tail_s * rate)
        )
        tracks = np.zeros((2, total), dtype=np.float32)
        for turn, start, clip in zip(script, starts, clips, strict=True):
            tracks[SYNTH_ROLES.index(turn.role), start : start + len(clip)] += clip
        if options.line_noise_dbfs is not None:
            noise_rms = 10 ** (options.line_noise_dbfs / 20)
            tracks += rng.normal(0.0, noise_rms, size=tracks.shape).astype(np.float32)
        if stereo:
            mixed = tracks
        else:
            mixed = tracks.sum(axis=0, keepdims=True)
            peak = float(np.max(np.abs(mixed)))
            if peak > 0.95:
                mixed = mixed * (0.95 / peak)
        mix_path = work_dir / "mix.wav"
        _write_wav(mix_path, mixed, rate)
        line_path = work_dir / "line.wav"
        _render_line(mix_path, line_path, phone_line=phone_line)
        out_path = out_dir / f"{name}.{audio_format}"
        out_rate = PHONE_SAMPLE_RATE_HZ if phone_line else rate
        _encode(line_path, out_path, audio_format=audio_format, encoding=encoding, sample_rate_hz=out_rate)
        offset_s = 0.0
        if audio_format in ("mp3", "ogg"):
            # Lossy encoders pad the start; measure what a decoder gives back so the reference stays exact.
            line_samples, _ = _read_wav(line_path)
            decoded, decoded_rate = _decode_with_av(out_path)
            offset_s = _codec_delay_s(line_samples, decoded, decoded_rate)
            out_duration = decoded.shape[1] / decoded_rate
            out_channels = decoded.shape[0]
            if offset_s:
                logger.info(
                    "%s: decoder output lags the source by %.3f s; reference shifted", out_path, offset_s
                )
        else:
            out_rate, out_channels, out_duration = _probe(out_path)

    reference_turns = tuple(
        ReferenceTurn(
            start_s=round(start / rate + offset_s, 3),
            end_s=round((start + len(clip)) / rate + offset_s, 3),
            role=turn.role,
            text=turn.text,
            spoken_text=text,
        )
        for turn, text, start, clip in sorted(
            zip(script, spoken, starts, clips, strict=True), key=lambda item: item[2]
        )
    )
    reference = DialogueReference(
        audio_path=out_path,
        sample_rate_hz=out_rate,
        n_channels=out_channels,
        duration_s=round(out_duration, 3),
        turns=reference_turns,
        channel_map={"manager": 0, "client": 1} if stereo else {},
        seed=seed,
    )
    if reference_dir is not None:
        write_reference(reference, reference_dir, name=name)
    logger.info(
        "synthesised %s: %d turns, %.1f s, %d ch, %d Hz",
        out_path,
        len(script),
        out_duration,
        out_channels,
        out_rate,
    )
    return out_path, reference


def write_reference(
    reference: DialogueReference, directory: str | Path, *, name: str, extra: Mapping[str, Any] | None = None
) -> tuple[Path, Path]:
    """Write ``<directory>/<name>.json`` (reference dict plus ``extra``) and ``<name>.rttm``.

    Returns:
        (json path, rttm path).
    """
    import json

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    data = reference.to_dict()
    if extra:
        data.update(extra)
    json_path = directory / f"{name}.json"
    rttm_path = directory / f"{name}.rttm"
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    rttm_path.write_text(reference.to_rttm(uri=name), encoding="utf-8")
    return json_path, rttm_path


# --------------------------------------------------------------------------------------------------
# Demo call scripts (demo/scripts/*.yaml)
# --------------------------------------------------------------------------------------------------

SIDECAR_KEYS: tuple[str, ...] = (
    "external_id", "manager", "direction", "source_channel", "campaign", "client_phone",
    "started_at", "ring_s", "answered", "crm_deal_id", "channel_map",
)  # fmt: skip


@dataclass(frozen=True)
class DemoRender:
    """How a demo script is rendered (the ``render`` block of its YAML)."""

    stereo: bool
    phone_line: bool = True
    audio_format: str = "wav"
    encoding: str = "pcm16"
    seed: int = 0
    options: SynthOptions = field(default_factory=SynthOptions)


@dataclass(frozen=True)
class DemoScript:
    """One demo call script: metadata for the ingest sidecar, the expected labels and the turns.

    Attributes:
        call_id: file stem of the rendered call (``id`` in the YAML).
        description: what the call demonstrates, in Russian.
        metadata: sidecar fields (see :data:`SIDECAR_KEYS`, ``external_id`` excluded).
        expected: expected labels: ``class``, ``outcome`` and optionally ``script_violations``.
        render: rendering options.
        turns: the dialogue.
    """

    call_id: str
    description: str
    metadata: dict[str, Any]
    expected: dict[str, Any]
    render: DemoRender
    turns: tuple[DialogueTurn, ...]

    def sidecar(self) -> dict[str, Any]:
        """The JSON sidecar ingest reads next to the audio (``<stem>.json``)."""
        data: dict[str, Any] = {"external_id": self.call_id}
        for key in SIDECAR_KEYS[1:]:
            data[key] = self.metadata.get(key)
        if not self.render.stereo:
            data["channel_map"] = None
        return data


def _voice_from(data: Any, where: str) -> VoiceOptions:
    if data is None:
        return VoiceOptions()
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: voice must be a mapping of pitch_cents/tempo/gain_db")
    unknown = set(data) - {"pitch_cents", "tempo", "gain_db"}
    if unknown:
        raise ValueError(f"{where}: unknown voice keys {sorted(unknown)}; valid: pitch_cents, tempo, gain_db")
    return VoiceOptions(**{key: float(value) for key, value in data.items()})


def parse_demo_script(data: Any, *, source: str = "<script>") -> DemoScript:
    """Validate a loaded demo YAML document and turn it into a :class:`DemoScript`.

    Raises:
        ValueError: a missing or invalid field, naming the file and the field.
    """
    from datetime import datetime

    from callqa.types import CALL_CLASSES, DIRECTIONS, OUTCOMES, ChannelMap

    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: a demo script must be a YAML mapping")
    for key in ("id", "metadata", "expected", "render", "turns"):
        if key not in data:
            raise ValueError(f"{source}: missing key {key!r}")
    call_id = str(data["id"])
    if not re.fullmatch(r"[a-z0-9_]+", call_id):
        raise ValueError(f"{source}: id {call_id!r} must be lower-case letters, digits and underscores")
    metadata = dict(data["metadata"] or {})
    unknown = set(metadata) - set(SIDECAR_KEYS[1:])
    if unknown:
        raise ValueError(
            f"{source}: unknown metadata keys {sorted(unknown)}; valid: {', '.join(SIDECAR_KEYS[1:])}"
        )
    if metadata.get("direction", "unknown") not in DIRECTIONS:
        raise ValueError(
            f"{source}: direction {metadata.get('direction')!r} is not one of: {', '.join(DIRECTIONS)}"
        )
    if metadata.get("started_at") is not None:
        try:
            datetime.fromisoformat(str(metadata["started_at"]))
        except ValueError as exc:
            raise ValueError(f"{source}: started_at {metadata['started_at']!r} is not ISO 8601") from exc
        metadata["started_at"] = str(metadata["started_at"])
    if metadata.get("channel_map") is not None:
        channel_map = ChannelMap.parse(metadata["channel_map"])
        metadata["channel_map"] = {"manager": channel_map.manager, "client": channel_map.client}
    expected = dict(data["expected"] or {})
    if expected.get("class") not in CALL_CLASSES:
        raise ValueError(
            f"{source}: expected class {expected.get('class')!r} is not one of: {', '.join(CALL_CLASSES)}"
        )
    if expected.get("outcome") not in OUTCOMES:
        raise ValueError(
            f"{source}: expected outcome {expected.get('outcome')!r} is not one of: {', '.join(OUTCOMES)}"
        )
    render_data = dict(data["render"] or {})
    known_render = {
        "stereo", "phone_line", "format", "encoding", "seed", "voices",
        "overlap_probability", "pause_min_s", "pause_max_s",
    }  # fmt: skip
    if set(render_data) - known_render:
        raise ValueError(f"{source}: unknown render keys {sorted(set(render_data) - known_render)}")
    if "stereo" not in render_data:
        raise ValueError(f"{source}: render.stereo is required")
    voices = render_data.get("voices") or {}
    defaults = SynthOptions()
    options = SynthOptions(
        manager_voice=_voice_from(voices["manager"], f"{source}: voices.manager")
        if "manager" in voices
        else defaults.manager_voice,
        client_voice=_voice_from(voices["client"], f"{source}: voices.client")
        if "client" in voices
        else defaults.client_voice,
        overlap_probability=float(render_data.get("overlap_probability", 0.0)),
        pause_min_s=float(render_data.get("pause_min_s", defaults.pause_min_s)),
        pause_max_s=float(render_data.get("pause_max_s", defaults.pause_max_s)),
    )
    render = DemoRender(
        stereo=bool(render_data["stereo"]),
        phone_line=bool(render_data.get("phone_line", True)),
        audio_format=str(render_data.get("format", "wav")),
        encoding=str(render_data.get("encoding", "pcm16")),
        seed=int(render_data.get("seed", 0)),
        options=options,
    )
    if render.audio_format not in AUDIO_FORMATS:
        raise ValueError(
            f"{source}: format {render.audio_format!r} is not one of: {', '.join(AUDIO_FORMATS)}"
        )
    if render.encoding not in ENCODINGS:
        raise ValueError(f"{source}: encoding {render.encoding!r} is not one of: {', '.join(ENCODINGS)}")
    raw_turns = data["turns"]
    if not isinstance(raw_turns, list) or not raw_turns:
        raise ValueError(f"{source}: turns must be a non-empty list")
    try:
        turns = tuple(_coerce_turns(raw_turns))
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from exc
    return DemoScript(
        call_id=call_id,
        description=str(data.get("description", "")).strip(),
        metadata=metadata,
        expected=expected,
        render=render,
        turns=turns,
    )


def load_demo_script(path: str | Path) -> DemoScript:
    """Read and validate one ``demo/scripts/<id>.yaml``; the id must equal the file stem."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: invalid YAML: {exc}") from exc
    script = parse_demo_script(data, source=str(path))
    if script.call_id != path.stem:
        raise ValueError(f"{path}: id {script.call_id!r} must equal the file name stem {path.stem!r}")
    return script


def render_demo_script(
    script: DemoScript, *, recordings_dir: str | Path, references_dir: str | Path
) -> tuple[Path, DialogueReference]:
    """Render one demo script: ``<recordings_dir>/<id>.<fmt>`` + ``<id>.json`` sidecar, and the
    reference as ``<references_dir>/<id>.json`` and ``<id>.rttm``.

    Returns:
        (audio path, reference).
    """
    import json

    recordings_dir = Path(recordings_dir)
    references_dir = Path(references_dir)
    if recordings_dir.resolve() == references_dir.resolve():
        raise ValueError(
            "references_dir must differ from recordings_dir: ingest reads <stem>.json there as a sidecar"
        )
    audio_path, reference = synthesize_dialogue(
        script.turns,
        out_dir=recordings_dir,
        stereo=script.render.stereo,
        phone_line=script.render.phone_line,
        seed=script.render.seed,
        name=script.call_id,
        audio_format=script.render.audio_format,
        encoding=script.render.encoding,
        options=script.render.options,
    )
    sidecar_path = recordings_dir / f"{script.call_id}.json"
    sidecar_path.write_text(
        json.dumps(script.sidecar(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    write_reference(
        reference,
        references_dir,
        name=script.call_id,
        extra={
            "id": script.call_id,
            "description": script.description,
            "expected": script.expected,
            "metadata": script.sidecar(),
        },
    )
    return audio_path, reference
