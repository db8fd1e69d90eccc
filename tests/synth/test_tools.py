"""Missing festival/sox gives a clear error with the install hint, never a crash deep in a subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from callqa.synth import SynthToolMissing, festival_available, missing_tools, synthesize_dialogue


def test_missing_tools_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no festival, no sox
    assert {"festival", "sox"} <= set(missing_tools())
    assert festival_available() is False
    with pytest.raises(SynthToolMissing, match=r"festival, sox.*apt-get install festival festvox-ru sox"):
        synthesize_dialogue(
            [{"role": "manager", "text": "Алло"}],
            out_dir=tmp_path / "out",
            stereo=True,
            phone_line=True,
            seed=0,
        )
    assert not (tmp_path / "out" / "dialogue.wav").exists()
