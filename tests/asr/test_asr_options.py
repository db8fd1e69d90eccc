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


def _probs(speech: list[tuple[float, float]], duration_s: float):
    import numpy as np
    from callqa.asr.vad import VAD_FRAME_S

    probs = np.zeros(int(round(duration_s / VAD_FRAME_S)), dtype=np.float32)
    for start_s, end_s in speech:
        probs[int(start_s / VAD_FRAME_S): int(end_s / VAD_FRAME_S)] = 0.9
    return probs


def test_whisper_regions_keep_short_edge_silences():
    from callqa.asr.whisper_asr import whisper_regions

    # 1.5 s lead-in and 1.8 s tail: cutting them would only shift Whisper's first window.
    regions = whisper_regions(_probs([(1.5, 5.0)], 6.8), 6.8)
    assert [(r.start_s, r.end_s) for r in regions] == [(0.0, 6.8)]


def test_whisper_regions_cut_long_silences_with_a_pad():
    from callqa.asr.whisper_asr import whisper_regions

    # 5 s lead-in, a 6 s pause and a 10 s tail are cut, leaving 1 s of context around speech;
    # a 1.5 s pause is bridged.
    regions = whisper_regions(_probs([(5.0, 8.0), (9.5, 12.0), (18.0, 20.0)], 30.0), 30.0)
    expected = [(4.0, 13.0), (17.0, 21.0)]
    assert len(regions) == len(expected)
    for region, (start_s, end_s) in zip(regions, expected, strict=True):  # 32 ms VAD frames
        assert abs(region.start_s - start_s) < 0.05 and abs(region.end_s - end_s) < 0.05
