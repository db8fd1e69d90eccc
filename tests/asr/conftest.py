"""Fixtures for the asr tests: Russian speech synthesised with festival (two voices via sox pitch)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from callqa.asr.evaluation import load_audio

MANAGER_LINES = (
    "Здравствуйте, компания Ромашка, меня зовут Анна. Чем могу помочь?",
    "Конечно, доставка по городу бесплатная. Оформить заявку на завтра?",
)
CLIENT_LINES = (
    "Добрый день, я хотел узнать, сколько стоит доставка цветов.",
    "Да, давайте на завтра, спасибо большое.",
)


def _say(text: str, out: Path, pitch: int | None) -> np.ndarray:
    if shutil.which("text2wave") is None or shutil.which("sox") is None:
        pytest.skip("festival text2wave and sox are needed to synthesise test speech")
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["text2wave", "-eval", "(voice_msu_ru_nsh_clunits)", "-o", str(raw)], input=text.encode("utf-8"),
                   check=True, capture_output=True)
    if pitch is None:
        raw.rename(out)
    else:
        subprocess.run(["sox", str(raw), str(out), "pitch", str(pitch)], check=True, capture_output=True)
    return load_audio(out)


@pytest.fixture(scope="session")
def voices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[np.ndarray]]:
    """Per party, a list of 16 kHz float32 utterances (manager: festival voice, client: pitched down)."""
    folder = tmp_path_factory.mktemp("voices")
    return {
        "manager": [_say(t, folder / f"m{i}.wav", None) for i, t in enumerate(MANAGER_LINES)],
        "client": [_say(t, folder / f"c{i}.wav", -500) for i, t in enumerate(CLIENT_LINES)],
    }


@pytest.fixture(scope="session")
def two_party_call(voices):
    """A synthetic call (manager first, alternating, one short overlap) with reference turns."""
    from callqa.asr.evaluation import assemble_call

    return assemble_call(voices["manager"], voices["client"], seed=1, overlap_probability=0.25, phone=False)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache for the session (the packaged model is joined once)."""
    return tmp_path_factory.mktemp("models")
