"""Sidecar JSON and CSV manifest metadata; discovery of files and folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audio_factory import tone_signal, write_audio
from callqa.ingest import MetadataError, discover, read_manifest, read_sidecar

from callqa.types import ChannelMap


def test_sidecar_is_read_and_validated(tmp_path: Path) -> None:
    audio = write_audio(tmp_path / "c1.wav", tone_signal(1.0, 8000, 2), 8000)
    (tmp_path / "c1.json").write_text(
        json.dumps(
            {
                "external_id": "pbx-17", "manager": "Ирина Петрова", "direction": "inbound",
                "source_channel": "yandex_direct", "campaign": "spring", "client_phone": "+79161234567",
                "started_at": "2026-11-20T10:15:00+03:00", "ring_s": 6, "answered": True,
                "crm_deal_id": "D-1", "channel_map": {"manager": 1, "client": 0},
            }
        ),
        encoding="utf-8",
    )
    meta = read_sidecar(audio)
    assert meta is not None
    assert meta.manager == "Ирина Петрова"
    assert meta.direction == "inbound"
    assert meta.ring_s == 6.0
    assert meta.answered is True
    assert meta.channel_map == ChannelMap(manager=1, client=0)
    assert meta.started_at is not None and meta.started_at.utcoffset() is not None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"started_at": "yesterday"}, "ISO 8601"),
        ({"answered": "maybe"}, "answered"),
        ({"channel_map": {"manager": 3}}, "channel"),
    ],
)
def test_bad_sidecar_names_the_field(tmp_path: Path, payload: dict, message: str) -> None:
    audio = write_audio(tmp_path / "c.wav", tone_signal(1.0, 8000, 1), 8000)
    (tmp_path / "c.json").write_text(json.dumps(payload))
    with pytest.raises(MetadataError, match=message):
        read_sidecar(audio)


def test_manifest_rows_with_line_numbers(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,manager,direction\na.wav,Олег,outbound\nb.wav,Анна,nowhere\n", encoding="utf-8")
    with pytest.raises(MetadataError, match=r"m.csv:3"):
        read_manifest(manifest)
    manifest.write_text("file,manager,direction\na.wav,Олег,outbound\n", encoding="utf-8")
    assert read_manifest(manifest)["a.wav"].manager == "Олег"


def test_discover_recurses_and_rejects_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "x" / "y").mkdir(parents=True)
    write_audio(tmp_path / "x" / "a.wav", tone_signal(1.0, 8000, 1), 8000)
    write_audio(tmp_path / "x" / "y" / "b.flac", tone_signal(1.0, 8000, 1), 8000)
    (tmp_path / "x" / "notes.txt").write_text("ignored")
    found = discover([tmp_path / "x"])
    assert sorted(r.path.name for r in found) == ["a.wav", "b.flac"]
    with pytest.raises(FileNotFoundError, match="no such file"):
        discover([tmp_path / "nope"])
