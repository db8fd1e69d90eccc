"""Option dataclasses for the asr stage and the device/compute-type resolution.

Defaults work on a 2-core CPU; ``device="auto"`` switches to CUDA/float16/batched inference
when a GPU is present.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

logger = logging.getLogger(__name__)

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
COMPUTE_TYPES: tuple[str, ...] = (
    "auto",
    "default",
    "int8",
    "int8_float16",
    "int8_float32",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)
DIARIZATION_BACKENDS: tuple[str, ...] = ("embedded", "pyannote")
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "callqa" / "models"


@dataclass(frozen=True)
class DiarizeOptions:
    """How mono calls are split into speakers.

    Attributes:
        backend: ``embedded`` (offline: Silero VAD + resemblyzer encoder + clustering) or
            ``pyannote`` (pyannote.audio pipeline, optional extra).
        num_speakers: fixed number of speakers (2 for calls) or None to estimate (1..max_speakers).
        max_speakers: upper bound when estimating.
        window_s: speaker-embedding window length in seconds.
        step_s: hop between embedding windows in seconds.
        switch_penalty: log-probability cost of a speaker change in the Viterbi resegmentation;
            larger gives fewer, longer turns.
        min_turn_s: turns shorter than this are merged into neighbours.
        vad_threshold: Silero speech probability that starts speech.
        min_silence_s: pauses shorter than this stay inside a turn.
        refine_edges: move speech boundaries to energy crossings (Silero is late on quiet onsets).
        pyannote_model: local path or hub id of a pyannote pipeline
            (e.g. ``pyannote/speaker-diarization-3.1``).
        pyannote_token: hub token for ``pyannote_model`` when it is a hub id.
        device: ``auto``, ``cpu`` or ``cuda`` for the speaker encoder / pyannote.
    """

    backend: str = "embedded"
    num_speakers: int | None = 2
    max_speakers: int = 6
    window_s: float = 1.5
    step_s: float = 0.75
    switch_penalty: float = 6.0
    min_turn_s: float = 0.25
    vad_threshold: float = 0.35
    min_silence_s: float = 0.5
    refine_edges: bool = True
    pyannote_model: str | None = None
    pyannote_token: str | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.backend not in DIARIZATION_BACKENDS:
            raise ValueError(
                f"diarization backend {self.backend!r} is not one of: {', '.join(DIARIZATION_BACKENDS)}"
            )
        if self.num_speakers is not None and not 1 <= self.num_speakers <= 20:
            raise ValueError(f"num_speakers must be between 1 and 20 or None, got {self.num_speakers}")
        if not 1 <= self.max_speakers <= 20:
            raise ValueError(f"max_speakers must be between 1 and 20, got {self.max_speakers}")
        if not 0.5 <= self.window_s <= 5.0:
            raise ValueError(f"window_s must be between 0.5 and 5.0 seconds, got {self.window_s}")
        if not 0.05 <= self.step_s <= self.window_s:
            raise ValueError(f"step_s must be between 0.05 and window_s={self.window_s}, got {self.step_s}")
        if self.switch_penalty < 0:
            raise ValueError(f"switch_penalty must be >= 0, got {self.switch_penalty}")
        if self.min_turn_s < 0:
            raise ValueError(f"min_turn_s must be >= 0, got {self.min_turn_s}")
        if self.device not in DEVICES:
            raise ValueError(f"device {self.device!r} is not one of: {', '.join(DEVICES)}")
        if not 0.05 <= self.vad_threshold <= 0.95:
            raise ValueError(f"vad_threshold must be between 0.05 and 0.95, got {self.vad_threshold}")
        if not 0.0 <= self.min_silence_s <= 5.0:
            raise ValueError(f"min_silence_s must be between 0 and 5 seconds, got {self.min_silence_s}")


@dataclass(frozen=True)
class AsrOptions:
    """Settings of the asr stage.

    Attributes:
        model: local model directory, a registry name (``base``, ``large-v3``, ...) or a hub id.
            ``base`` is the offline packaged default.
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        compute_type: CTranslate2 compute type or ``auto`` (int8 on CPU, float16 on CUDA).
        beam_size: beam width of the decoder.
        batch_size: batch size of ``BatchedInferencePipeline``; 0 = auto (16 on GPU, unbatched on CPU).
        cpu_threads: CTranslate2 intra-op threads; 0 = number of cores.
        language: ISO code (``ru``) or None to detect.
        vad_filter: transcribe only the speech that Silero VAD finds (also the hallucination guard).
        word_timestamps: produce per-word times (needed for speaker attribution).
        no_speech_threshold: Whisper's no-speech probability above which a silent window is skipped.
        compression_ratio_threshold: gzip ratio above which a decoding is treated as a loop.
        log_prob_threshold: average log probability below which a decoding is retried / dropped.
        hallucination_filter: drop known hallucination phrases ("Продолжение следует...").
        initial_prompt: text prompt for the first window (hotwords are appended by the caller).
        chunk_s: the call is transcribed in pieces of at most this many seconds cut in silences,
            which bounds memory on long calls.
        cache_dir: where the joined offline model lives; None = ``~/.cache/callqa/models``.
        local_files_only: never contact a model hub (only local, registry or packaged models).
        diarization: options of the mono-call diarizer.
    """

    model: str = "base"
    device: str = "auto"
    compute_type: str = "auto"
    beam_size: int = 5
    batch_size: int = 0
    cpu_threads: int = 0
    language: str | None = "ru"
    vad_filter: bool = True
    word_timestamps: bool = True
    no_speech_threshold: float = 0.6
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    hallucination_filter: bool = True
    initial_prompt: str | None = None
    chunk_s: float = 600.0
    cache_dir: Path | None = None
    local_files_only: bool = True
    diarization: DiarizeOptions = field(default_factory=DiarizeOptions)

    def __post_init__(self) -> None:
        if not self.model or not str(self.model).strip():
            raise ValueError("model must be a local path, a registry name or a hub id, got an empty string")
        if self.device not in DEVICES:
            raise ValueError(f"device {self.device!r} is not one of: {', '.join(DEVICES)}")
        if self.compute_type not in COMPUTE_TYPES:
            raise ValueError(f"compute_type {self.compute_type!r} is not one of: {', '.join(COMPUTE_TYPES)}")
        if not 1 <= self.beam_size <= 20:
            raise ValueError(f"beam_size must be between 1 and 20, got {self.beam_size}")
        if not 0 <= self.batch_size <= 256:
            raise ValueError(f"batch_size must be between 0 (auto) and 256, got {self.batch_size}")
        if self.cpu_threads < 0:
            raise ValueError(f"cpu_threads must be >= 0 (0 = all cores), got {self.cpu_threads}")
        if self.language is not None and not (2 <= len(self.language) <= 3 and self.language.isalpha()):
            raise ValueError(f"language must be an ISO code such as 'ru' or None to detect, got {self.language!r}")
        if not 0.0 <= self.no_speech_threshold <= 1.0:
            raise ValueError(f"no_speech_threshold must be in [0, 1], got {self.no_speech_threshold}")
        if self.compression_ratio_threshold <= 1.0:
            raise ValueError(f"compression_ratio_threshold must be > 1, got {self.compression_ratio_threshold}")
        if self.chunk_s < 30.0:
            raise ValueError(f"chunk_s must be >= 30 seconds, got {self.chunk_s}")
        if self.cache_dir is not None and not isinstance(self.cache_dir, Path):
            object.__setattr__(self, "cache_dir", Path(self.cache_dir))
        if not isinstance(self.diarization, DiarizeOptions):
            raise ValueError(f"diarization must be a DiarizeOptions, got {type(self.diarization).__name__}")

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else DEFAULT_CACHE_DIR


@dataclass(frozen=True)
class Runtime:
    """Concrete execution settings after ``auto`` is resolved."""

    device: str
    compute_type: str
    batched: bool
    batch_size: int
    cpu_threads: int


def cuda_available() -> bool:
    """Device probe: True when CTranslate2 sees a CUDA device."""
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # noqa: BLE001 - any failure of the probe means no usable GPU
        return False


def resolve_runtime(options: AsrOptions, *, gpu_present: bool | None = None) -> Runtime:
    """Resolve ``auto`` device, compute type and batching.

    Args:
        options: the asr options.
        gpu_present: result of the device probe; None = call :func:`cuda_available`.

    Returns:
        CUDA + float16 + batched inference when a GPU is present (or asked for), else CPU + int8
        unbatched, with explicit settings in ``options`` taking precedence.
    """
    if options.device == "auto":
        if gpu_present is None:
            gpu_present = cuda_available()
        device = "cuda" if gpu_present else "cpu"
    else:
        device = options.device
        if device == "cuda" and gpu_present is None and not cuda_available():
            raise ValueError("device 'cuda' was requested but no CUDA device is visible; use device='auto' or 'cpu'")
    compute_type = options.compute_type
    if compute_type in ("auto", "default"):
        compute_type = "float16" if device == "cuda" else "int8"
    if device == "cpu" and compute_type in ("float16", "int8_float16", "bfloat16", "int8_bfloat16"):
        raise ValueError(f"compute_type {compute_type!r} needs a GPU; on CPU use int8, int8_float32 or float32")
    if options.batch_size:
        batch_size = options.batch_size
    else:
        batch_size = 16 if device == "cuda" else 1
    batched = batch_size > 1
    cpu_threads = options.cpu_threads or (os.cpu_count() or 1)
    return Runtime(device=device, compute_type=compute_type, batched=batched, batch_size=batch_size,
                   cpu_threads=cpu_threads)


def with_overrides(options: AsrOptions, **changes: object) -> AsrOptions:
    """Copy of ``options`` with fields replaced (validated again)."""
    return replace(options, **changes)  # type: ignore[arg-type]
