"""Benchmark the asr stage against bare faster-whisper on the same audio and model (one run).

Prints wall time of the whole stage (decode, VAD, ASR, diarization, roles) and of bare
``WhisperModel.transcribe`` (decode + transcribe, default settings), and their ratio. With
``--long-call-minutes N`` it also measures peak RSS (ru_maxrss) of a child process that runs the
stage on an N-minute mono call.

    .venv/bin/python scripts/bench_asr.py                     # ~2.5 min synthetic Russian phone call
    .venv/bin/python scripts/bench_asr.py --audio call.wav --repeat 5
    .venv/bin/python scripts/bench_asr.py --long-call-minutes 120 --skip-speed
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _write_wav(path: Path, samples: np.ndarray) -> None:
    from scipy.io import wavfile

    wavfile.write(str(path), 16_000, (np.clip(samples, -1, 1) * 32767).astype(np.int16))


def build_call(data: Path, n_calls: int) -> np.ndarray:
    """A mono Russian phone call: synthetic two-party calls from cv-ru-100 joined with 2 s pauses."""
    from callqa.asr.evaluation import synthetic_calls

    calls = synthetic_calls(data / "cv-ru-100", n_calls=n_calls, clips_per_speaker=3)
    gap = np.zeros(32_000, dtype=np.float32)
    return np.concatenate([part for c in calls for part in (c.mono, gap)])


def _peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss, KiB on Linux) in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _long_call_child(minutes: float, data: str, model: str, cache_dir: str | None, queue) -> None:
    from callqa.asr import AsrOptions, transcribe_call

    from callqa.types import DecodedAudio

    base = build_call(Path(data), 5)
    n = int(minutes * 60 * 16_000)
    samples = np.empty((1, n), dtype=np.float32)
    for first in range(0, n, base.shape[0]):  # tile in place, no large temporaries
        chunk = base[: n - first]
        samples[0, first:first + chunk.shape[0]] = chunk
    t0 = time.perf_counter()

    def progress(fraction: float) -> None:
        # Peak-so-far, so that a long run shows where memory stands before it ends.
        print(f"long call: {fraction:.0%} done after {time.perf_counter() - t0:.0f} s, "
              f"peak RSS so far {_peak_rss_mb():.0f} MB", file=sys.stderr, flush=True)

    print(f"long call: {minutes:.0f} min array built, peak RSS so far {_peak_rss_mb():.0f} MB",
          file=sys.stderr, flush=True)
    transcript = transcribe_call(DecodedAudio(samples), AsrOptions(model=model, cache_dir=Path(cache_dir) if cache_dir else None),
                                 progress=progress)
    queue.put((time.perf_counter() - t0, len(transcript.segments), len(transcript.turns)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audio", type=Path, help="audio file (default: synthetic call from cv-ru-100)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--calls", type=int, default=5, help="synthetic calls joined into the default audio")
    parser.add_argument("--model", default="base")
    parser.add_argument("--cache-dir", type=Path)
    parser.add_argument("--repeat", type=int, default=3,
                        help="interleaved bare/ours pairs (order alternating); the median ratio is reported")
    parser.add_argument("--long-call-minutes", type=float, default=0.0)
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()

    from callqa.asr import AsrOptions, transcribe_call
    from callqa.asr.models import load_whisper, resolve_model
    from callqa.asr.options import resolve_runtime
    from faster_whisper import decode_audio

    from callqa.types import DecodedAudio

    options = AsrOptions(model=args.model, cache_dir=args.cache_dir)
    if not args.skip_speed:
        with tempfile.TemporaryDirectory() as tmp:
            audio_path = args.audio
            if audio_path is None:
                audio_path = Path(tmp) / "call.wav"
                _write_wav(audio_path, build_call(args.data, args.calls))
            runtime = resolve_runtime(options)
            resolved = resolve_model(options.model, cache_dir=options.resolved_cache_dir)
            model = load_whisper(resolved, runtime, options.resolved_cache_dir)
            warm = decode_audio(str(audio_path))
            duration_s = warm.shape[0] / 16_000
            # Warm-up both paths (model load, encoder load, ONNX session) outside the timing.
            transcribe_call(DecodedAudio(warm[None, : 16_000 * 20]), options)
            ours_s, bare_s = [], []

            def run_bare() -> int:
                t0 = time.perf_counter()
                samples = decode_audio(str(audio_path))
                segments, _ = model.transcribe(samples, language=options.language, beam_size=options.beam_size)
                words = sum(len(s.text.split()) for s in segments)
                bare_s.append(time.perf_counter() - t0)
                return words

            def run_ours():
                t0 = time.perf_counter()
                samples = decode_audio(str(audio_path))
                result = transcribe_call(DecodedAudio(samples[None, :]), options)
                ours_s.append(time.perf_counter() - t0)
                return result

            # Pairs run back to back, the order alternating (bare first, then ours first), so that a
            # change of machine load hits both systems; the median of the per-pair ratios is reported.
            for i in range(args.repeat):
                if i % 2 == 0:
                    bare_words = run_bare()
                    transcript = run_ours()
                else:
                    transcript = run_ours()
                    bare_words = run_bare()
                print(f"pair {i + 1}/{args.repeat}: bare {bare_s[-1]:.2f} s, asr stage {ours_s[-1]:.2f} s, "
                      f"ratio {ours_s[-1] / bare_s[-1]:.3f}", flush=True)
            ratios = [o / b for o, b in zip(ours_s, bare_s, strict=True)]
            ours, bare = sum(ours_s), sum(bare_s)
            print(f"audio: {audio_path.name}, {duration_s:.1f} s; model {resolved.name} ({resolved.source}, "
                  f"{runtime.device}/{runtime.compute_type}, beam {options.beam_size}, threads {runtime.cpu_threads})")
            print(f"bare faster-whisper (decode + transcribe): {bare / args.repeat:.2f} s/run, "
                  f"{duration_s * args.repeat / bare:.2f}x real time, {bare_words} words")
            print(f"asr stage (decode, VAD, ASR, diarization, roles): {ours / args.repeat:.2f} s/run, "
                  f"{duration_s * args.repeat / ours:.2f}x real time, {len(transcript.words())} words, "
                  f"{len(transcript.turns)} turns, flags {list(transcript.flags)}")
            print(f"ratio asr stage / bare: median {statistics.median(ratios):.3f} over {len(ratios)} pairs "
                  f"(min {min(ratios):.3f}, max {max(ratios):.3f}; total time {ours / bare:.3f})")
    if args.long_call_minutes > 0:
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        child = ctx.Process(target=_long_call_child, args=(args.long_call_minutes, str(args.data), args.model,
                                                           str(args.cache_dir) if args.cache_dir else None, queue))
        child.start()
        child.join()
        if child.exitcode != 0:
            print(f"long-call child failed with exit code {child.exitcode}", file=sys.stderr)
            return 1
        seconds, n_segments, n_turns = queue.get()
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"long call {args.long_call_minutes:.0f} min mono: {seconds:.1f} s "
              f"({args.long_call_minutes * 60 / seconds:.2f}x real time), {n_segments} segments, {n_turns} turns, "
              f"peak RSS {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
