"""Option validation and device resolution (the GPU path is selected by the device probe only)."""

from __future__ import annotations

import pytest
from callqa.asr import AsrOptions, DiarizeOptions, resolve_runtime
from callqa.asr import options as options_module


def test_defaults_are_cpu_friendly():
    opts = AsrOptions()
    assert opts.model == "base" and opts.language == "ru" and opts.vad_filter
    assert opts.diarization.backend == "embedded" and opts.diarization.num_speakers == 2


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("compute_type", "int7", "int8, int8_float16"),
        ("device", "tpu", "auto, cpu, cuda"),
        ("beam_size", 0, "beam_size"),
        ("language", "russian", "ISO code"),
        ("chunk_s", 5.0, "chunk_s"),
    ],
)
def test_invalid_options_name_valid_choices(field, value, needle):
    with pytest.raises(ValueError, match=needle):
        AsrOptions(**{field: value})


def test_invalid_diarization_backend():
    with pytest.raises(ValueError, match="embedded, pyannote"):
        DiarizeOptions(backend="kaldi")
    with pytest.raises(ValueError, match="step_s"):
        DiarizeOptions(window_s=1.0, step_s=2.0)


def test_gpu_probe_selects_cuda_float16_batched(monkeypatch):
    monkeypatch.setattr(options_module, "cuda_available", lambda: True)
    runtime = resolve_runtime(AsrOptions())
    assert (runtime.device, runtime.compute_type, runtime.batched) == ("cuda", "float16", True)
    assert runtime.batch_size == 16


def test_no_gpu_selects_cpu_int8_unbatched(monkeypatch):
    monkeypatch.setattr(options_module, "cuda_available", lambda: False)
    runtime = resolve_runtime(AsrOptions(cpu_threads=3))
    assert (runtime.device, runtime.compute_type, runtime.batched, runtime.cpu_threads) == ("cpu", "int8", False, 3)


def test_explicit_settings_win_over_auto():
    runtime = resolve_runtime(AsrOptions(compute_type="int8_float16", batch_size=4), gpu_present=True)
    assert (runtime.device, runtime.compute_type, runtime.batch_size, runtime.batched) == (
        "cuda", "int8_float16", 4, True)


def test_float16_on_cpu_is_refused():
    with pytest.raises(ValueError, match="needs a GPU"):
        resolve_runtime(AsrOptions(device="cpu", compute_type="float16"))


def test_cuda_requested_without_gpu(monkeypatch):
    monkeypatch.setattr(options_module, "cuda_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_runtime(AsrOptions(device="cuda"))


def test_long_calls_are_cut_into_bounded_pieces():
    from callqa.asr.vad import SpeechRegion
    from callqa.asr.whisper_asr import _pieces

    regions = [SpeechRegion(i * 10.0, i * 10.0 + 8.0) for i in range(720)] + [SpeechRegion(7200.0, 8500.0)]
    pieces = _pieces(regions, 600.0)
    assert all(p[-1].end_s - p[0].start_s <= 600.0 + 1e-6 for p in pieces)
    flat = [r for p in pieces for r in p]
    assert abs(sum(r.duration_s for r in flat) - sum(r.duration_s for r in regions)) < 1e-6
