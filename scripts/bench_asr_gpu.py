"""GPU benchmark: x-real-time of the asr stage with large-v3 (batched, float16) vs bare faster-whisper.

Run where a CUDA GPU is present and the model files are local (the device machines have no
internet):

    python scripts/bench_asr_gpu.py --model /models/faster-whisper-large-v3 --audio call.wav
    python scripts/bench_asr_gpu.py --model large-v3 --data ../shared/data --calls 10

Prints the device, the resolved runtime, wall time and x-real-time of bare
``BatchedInferencePipeline.transcribe`` and of ``transcribe_call`` on the same audio, and the ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="large-v3", help="local CTranslate2 dir, registry name or hub id")
    parser.add_argument("--audio", type=Path, help="audio file to transcribe")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--calls", type=int, default=10, help="synthetic cv-ru-100 calls when no --audio")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--cache-dir", type=Path)
    parser.add_argument("--allow-download", action="store_true")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    import numpy as np
    from callqa.asr import AsrOptions, transcribe_call
    from callqa.asr.models import load_whisper, resolve_model
    from callqa.asr.options import cuda_available, resolve_runtime
    from faster_whisper import BatchedInferencePipeline, decode_audio

    from callqa.types import DecodedAudio

    if not cuda_available():
        print("no CUDA device visible to CTranslate2: run this where a GPU is lent", file=sys.stderr)
        return 2
    if args.audio is not None:
        samples = decode_audio(str(args.audio))
        label = args.audio.name
    elif (args.data / "cv-ru-100").is_dir():
        from callqa.asr.evaluation import synthetic_calls

        calls = synthetic_calls(args.data / "cv-ru-100", n_calls=args.calls, clips_per_speaker=3)
        gap = np.zeros(32_000, dtype=np.float32)
        samples = np.concatenate([p for c in calls for p in (c.mono, gap)])
        label = f"{len(calls)} synthetic cv-ru-100 phone calls"
    else:
        print("give --audio FILE or --data with cv-ru-100", file=sys.stderr)
        return 2
    duration_s = samples.shape[0] / 16_000
    options = AsrOptions(model=args.model, device="auto", batch_size=args.batch_size, cache_dir=args.cache_dir,
                         local_files_only=not args.allow_download)
    runtime = resolve_runtime(options)
    resolved = resolve_model(options.model, cache_dir=options.resolved_cache_dir,
                             local_files_only=options.local_files_only)
    model = load_whisper(resolved, runtime, options.resolved_cache_dir)
    batched = BatchedInferencePipeline(model=model)
    import ctranslate2

    print(f"device: cuda x{ctranslate2.get_cuda_device_count()}, runtime {runtime}, model {resolved.name} "
          f"({resolved.source}), audio {label}, {duration_s:.1f} s")
    transcribe_call(DecodedAudio(samples[None, : 16_000 * 30]), options)  # warm-up
    bare_s, ours_s = 0.0, 0.0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        segments, _ = batched.transcribe(samples, language=options.language, beam_size=options.beam_size,
                                         batch_size=runtime.batch_size)
        bare_words = sum(len(s.text.split()) for s in segments)
        bare_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        transcript = transcribe_call(DecodedAudio(samples[None, :]), options)
        ours_s += time.perf_counter() - t0
    print(f"bare BatchedInferencePipeline: {bare_s / args.repeat:.2f} s/run, "
          f"{duration_s * args.repeat / bare_s:.1f}x real time, {bare_words} words")
    print(f"asr stage (VAD, batched ASR, diarization, roles): {ours_s / args.repeat:.2f} s/run, "
          f"{duration_s * args.repeat / ours_s:.1f}x real time, {len(transcript.words())} words")
    print(f"ratio asr stage / bare: {ours_s / bare_s:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
