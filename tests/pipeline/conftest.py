from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from audio_factory import tone_signal, write_audio
from cli_helpers import run_cli, stored_rows

from callqa.settings import Settings

DEMO = Path(__file__).resolve().parents[2] / "demo" / "recordings"


def demo_files(n_stereo: int = 1, n_mono: int = 1) -> list[Path]:
    """The shortest demo recordings: some stereo, some mono (by their sidecar channel maps)."""
    import av

    stereo, mono = [], []
    for f in sorted(DEMO.iterdir()):
        if f.suffix == ".json" or f.name.startswith("."):
            continue
        with av.open(str(f)) as c:
            s = c.streams.audio[0]
            dur = float(c.duration or 0) / 1e6
            (stereo if s.codec_context.channels == 2 else mono).append((dur, f))
    return [f for _, f in sorted(stereo)[:n_stereo]] + [f for _, f in sorted(mono)[:n_mono]]


@pytest.fixture(scope="session")
def mixed_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two demo calls with sidecars, one corrupt file, a too-short one, and a nested duplicate."""
    folder = tmp_path_factory.mktemp("incoming")
    (folder / "nested").mkdir(parents=True)
    files = demo_files()
    for f in files:
        shutil.copy(f, folder / f.name)
        side = f.with_suffix(".json")
        if side.exists():
            shutil.copy(side, folder / side.name)
    shutil.copy(files[0], folder / "nested" / ("copy-of-" + files[0].name))
    (folder / "broken.mp3").write_bytes(b"ID3" + b"\x00" * 50 + b"garbage" * 10)
    write_audio(folder / "blip.wav", tone_signal(0.2, 8000, 1), 8000)
    return folder


@pytest.fixture(scope="session")
def sqlite_baseline(mixed_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, list[tuple]]:
    """The mixed folder processed once on the embedded defaults: its settings and stored rows."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("baseline") / "data", database_url=None, broker_url=None)
    result = run_cli(settings, "process", str(mixed_folder))
    assert result.exit_code == 2, result.output
    return settings, stored_rows(settings.resolved_database_url)
