"""Benchmark: single-call predict time of the shipped classifier on a ~5-minute transcript.

Run: .venv/bin/python tests/scoring/bench_classify.py [--words 750] [--repeats 200]
Prints wall and CPU milliseconds per call (CPU time is the fairer figure on a shared machine) and
the batched throughput. Not a test: timings are reported, not asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time

from callqa.scoring.classify import DEFAULT_CORPUS_DIR, load_corpus, load_default_classifier
from callqa.scoring.features import CallDocument, document_from_record

from callqa.types import Segment, Transcript


def long_transcript(words: int) -> Transcript:
    """Held-out turns concatenated until ``words`` words (~150 words per minute of talk)."""
    segments: list[Segment] = []
    n = 0
    t = 0.0
    for rec in load_corpus(DEFAULT_CORPUS_DIR / "heldout.jsonl"):
        for turn in rec["turns"]:
            k = len(turn["text"].split())
            segments.append(Segment(t, t + k * 0.4, turn["text"], speaker=turn["role"], role=turn["role"]))
            t += k * 0.4
            n += k
            if n >= words:
                return Transcript(segments=tuple(segments), duration_s=t)
    return Transcript(segments=tuple(segments), duration_s=t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=750)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    clf = load_default_classifier()
    transcript = long_transcript(args.words)
    clf.predict(transcript)  # warm: lemma cache, pymorphy3 dictionaries
    wall, cpu = [], []
    for _ in range(args.repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        clf.predict(transcript)  # a fresh CallDocument each time: tokenising is included
        wall.append(1000 * (time.perf_counter() - w0))
        cpu.append(1000 * (time.process_time() - c0))
    n_words = sum(len(s.text.split()) for s in transcript.segments)
    print(f"transcript: {n_words} words, {len(transcript.segments)} turns, {transcript.duration_s / 60:.1f} min of talk")
    print(f"single predict: wall median {statistics.median(wall):.2f} ms (p90 {sorted(wall)[int(0.9 * len(wall))]:.2f}), "
          f"CPU median {statistics.median(cpu):.2f} ms")
    docs: list[CallDocument] = [document_from_record(r) for r in load_corpus(DEFAULT_CORPUS_DIR / "heldout.jsonl")]
    t0 = time.perf_counter()
    clf.predict_documents(docs)
    dt = time.perf_counter() - t0
    print(f"batched: {len(docs)} held-out calls in {dt:.2f} s ({len(docs) / dt:.0f} calls/s)")


if __name__ == "__main__":
    main()
