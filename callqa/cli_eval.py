"""`callqa eval` (WER and DER on reference data) and `callqa models`: thin shells over callqa.asr."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

logger = logging.getLogger(__name__)
console = Console(width=140)

eval_app = typer.Typer(
    help="Measure the asr stage on reference data: WER on cv-ru-100 (ours vs bare faster-whisper, "
    "16 kHz and a simulated 8 kHz phone line) and DER of the diarizer (no collar, overlap scored).",
    no_args_is_help=True,
)


def default_data_dir() -> Path:
    """Shared evaluation data: $CALLQA_SHARED_DATA, else ../shared/data next to the repo."""
    env = os.environ.get("CALLQA_SHARED_DATA")
    if env:
        return Path(env)
    for candidate in (Path.cwd().parent / "shared" / "data", Path(__file__).resolve().parents[2] / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return Path.cwd().parent / "shared" / "data"


def _cache_dir(value: Path | None) -> Path | None:
    if value is not None:
        return value
    env = os.environ.get("CALLQA_MODEL_CACHE_DIR") or os.environ.get("CALLQA_ASR_CACHE_DIR")
    return Path(env) if env else None


DataOpt = Annotated[Path | None, typer.Option("--data", help="shared data folder (default ../shared/data)")]
ModelOpt = Annotated[str, typer.Option("--model", help="model: path, registry name or hub id")]
CacheOpt = Annotated[Path | None, typer.Option("--cache-dir", help="model cache directory")]


@eval_app.command("asr")
def eval_asr(
    data: DataOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", help="first N utterances only")] = None,
    model: ModelOpt = "base",
    beam_size: Annotated[int, typer.Option("--beam-size")] = 5,
    compute_type: Annotated[str, typer.Option("--compute-type")] = "auto",
    cache_dir: CacheOpt = None,
    phone: Annotated[bool, typer.Option("--phone/--no-phone", help="also through a simulated 8 kHz line")] = True,
) -> None:
    """WER of our pipeline and of bare faster-whisper (same model and settings, same run) on cv-ru-100."""
    from callqa.asr import AsrOptions, transcribe_call
    from callqa.asr.evaluation import corpus_wer, load_audio, load_manifest, phone_line
    from callqa.asr.models import load_whisper, resolve_model
    from callqa.asr.options import resolve_runtime
    from callqa.types import DecodedAudio

    folder = (data or default_data_dir()) / "cv-ru-100"
    rows = load_manifest(folder, limit)
    options = AsrOptions(model=model, beam_size=beam_size, compute_type=compute_type, cache_dir=_cache_dir(cache_dir))
    runtime = resolve_runtime(options)
    resolved = resolve_model(options.model, cache_dir=options.resolved_cache_dir)
    whisper = load_whisper(resolved, runtime, options.resolved_cache_dir)
    conditions = ["16k", "8k-phone"] if phone else ["16k"]
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = {(c, s): [] for c in conditions for s in ("bare", "ours")}
    seconds: dict[tuple[str, str], float] = dict.fromkeys(pairs, 0.0)
    audio_s = 0.0
    for i, row in enumerate(rows, start=1):
        clean = load_audio(row.path)
        audio_s += clean.shape[0] / 16_000
        for condition in conditions:
            samples = phone_line(clean) if condition == "8k-phone" else clean
            t0 = time.perf_counter()
            segments, _ = whisper.transcribe(samples, language=options.language, beam_size=options.beam_size)
            bare_text = " ".join(s.text.strip() for s in segments)
            t1 = time.perf_counter()
            ours_text = transcribe_call(DecodedAudio(samples[None, :]), options).text
            t2 = time.perf_counter()
            pairs[(condition, "bare")].append((row.text, bare_text))
            pairs[(condition, "ours")].append((row.text, ours_text))
            seconds[(condition, "bare")] += t1 - t0
            seconds[(condition, "ours")] += t2 - t1
        if i % 10 == 0:
            running = ", ".join(f"{c} {s} {corpus_wer(items):.3f}" for (c, s), items in pairs.items())
            console.print(f"{i}/{len(rows)} utterances, WER so far: {running}", style="dim")
    table = Table(title=f"WER on cv-ru-100 ({len(rows)} utterances, {audio_s / 60:.1f} min), model {resolved.name} "
                        f"({resolved.source}, {runtime.device}/{runtime.compute_type}, beam {options.beam_size})")
    for column in ("condition", "system", "WER", "x real time"):
        table.add_column(column)
    for (condition, system), items in pairs.items():
        table.add_row(condition, system, f"{corpus_wer(items):.3f}", f"{audio_s / max(seconds[(condition, system)], 1e-9):.1f}")
    console.print(table)


@eval_app.command("diarization")
def eval_diarization(
    data: DataOpt = None,
    calls: Annotated[int, typer.Option("--calls", help="synthetic two-party calls to assemble")] = 5,
    clips_per_speaker: Annotated[int, typer.Option("--clips-per-speaker")] = 3,
    backend: Annotated[str, typer.Option("--backend", help="embedded or pyannote")] = "embedded",
    pyannote_model: Annotated[str | None, typer.Option("--pyannote-model")] = None,
) -> None:
    """DER (no collar, overlap scored) on synthetic cv-ru-100 phone calls (mono and stereo) and pyannote-sample-call."""
    from callqa.asr import DiarizeOptions
    from callqa.asr.diarize import diarize
    from callqa.asr.evaluation import DerAccumulator, load_audio, read_rttm, synthetic_calls
    from callqa.asr.pipeline import stereo_turns

    root = data or default_data_dir()
    options = DiarizeOptions(backend=backend, pyannote_model=pyannote_model,
                             pyannote_token=os.environ.get("HF_TOKEN"))
    synthetic = synthetic_calls(root / "cv-ru-100", n_calls=calls, clips_per_speaker=clips_per_speaker)
    mono, stereo = DerAccumulator(), DerAccumulator()
    t0 = time.perf_counter()
    for call in synthetic:
        duration_s = call.channels.shape[1] / 16_000
        mono.add(call.turns, diarize(call.mono, options), duration_s)
        stereo.add(call.turns, stereo_turns(call.channels), duration_s)
    sample = DerAccumulator()
    sample_dir = root / "pyannote-sample-call"
    samples = load_audio(sample_dir / "sample.wav")
    sample.add(read_rttm(sample_dir / "sample.rttm"), diarize(samples, options), samples.shape[0] / 16_000)
    total_s = sum(c.channels.shape[1] for c in synthetic) / 16_000
    table = Table(title=f"DER, no collar, overlap scored ({time.perf_counter() - t0:.1f} s)")
    for column in ("set", "files", "audio min", "DER", "missed", "false alarm", "confusion"):
        table.add_column(column)

    def row(name: str, acc: DerAccumulator, files: int, minutes: float) -> None:
        m = acc.metric
        total = max(m["total"], 1e-9)
        table.add_row(name, str(files), f"{minutes:.1f}", f"{acc.value:.3f}", f"{m['missed detection'] / total:.3f}",
                      f"{m['false alarm'] / total:.3f}", f"{m['confusion'] / total:.3f}")

    row(f"synthetic 8 kHz calls, mono, {backend}", mono, len(synthetic), total_s / 60)
    row("synthetic 8 kHz calls, stereo (per-channel VAD)", stereo, len(synthetic), total_s / 60)
    row(f"pyannote-sample-call, {backend}", sample, 1, samples.shape[0] / 16_000 / 60)
    console.print(table)


def models_command(
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="model cache directory")] = None,
) -> None:
    """List the ASR models: name, whether available, and where they come from (resolution order)."""
    from callqa.asr import list_models

    table = Table(title="Whisper models (resolution: local path > cache/registry > packaged > hub)")
    for column in ("name", "source", "available", "location", "note"):
        table.add_column(column)
    for info in list_models(_cache_dir(cache_dir)):
        table.add_row(info.name, info.source, "yes" if info.available else "no", info.location, info.note)
    console.print(table)
    console.print("Diarization: embedded (Silero VAD from faster-whisper + resemblyzer encoder, offline); "
                  "pyannote (needs pyannote.audio and a pipeline path or hub id).")
