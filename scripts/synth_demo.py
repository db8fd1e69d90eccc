#!/usr/bin/env python
"""Render the demo calls: demo/scripts/*.yaml -> demo/recordings/<id>.<fmt> + <id>.json sidecar,
and demo/references/<id>.json + <id>.rttm (exact who-spoke-when and expected labels).

Usage: python scripts/synth_demo.py [--only ID ...] [--scripts DIR] [--recordings DIR] [--references DIR]
Needs festival, festvox-ru and sox (with libsox-fmt-all for mp3/ogg).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from callqa.synth import festival_available, load_demo_script, missing_tools, render_demo_script

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scripts", type=Path, default=ROOT / "demo" / "scripts")
    parser.add_argument("--recordings", type=Path, default=ROOT / "demo" / "recordings")
    parser.add_argument("--references", type=Path, default=ROOT / "demo" / "references")
    parser.add_argument("--only", nargs="*", default=None, help="render only these ids")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    if not festival_available():
        print("cannot render demo calls, missing: " + ", ".join(missing_tools()), file=sys.stderr)
        return 2
    paths = sorted(args.scripts.glob("*.yaml"))
    if not paths:
        print(f"no *.yaml scripts in {args.scripts}", file=sys.stderr)
        return 2
    scripts = [load_demo_script(path) for path in paths]
    if args.only:
        unknown = set(args.only) - {s.call_id for s in scripts}
        if unknown:
            print(f"unknown ids: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        scripts = [s for s in scripts if s.call_id in args.only]

    total_bytes = 0
    for script in scripts:
        started = time.perf_counter()
        audio_path, reference = render_demo_script(
            script, recordings_dir=args.recordings, references_dir=args.references
        )
        size = audio_path.stat().st_size
        total_bytes += size
        print(
            f"{audio_path.relative_to(ROOT) if audio_path.is_relative_to(ROOT) else audio_path}: "
            f"{reference.duration_s:5.1f} s, {reference.n_channels} ch, {reference.sample_rate_hz} Hz, "
            f"{len(reference.turns)} turns, {size / 1024:6.0f} KiB, {script.expected['class']}/"
            f"{script.expected['outcome']} (rendered in {time.perf_counter() - started:.1f} s)"
        )
    print(f"total audio: {total_bytes / 1024 / 1024:.2f} MiB in {len(scripts)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
