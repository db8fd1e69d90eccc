"""The ``pyannote`` diarization backend on a real pyannote.audio 4 pipeline loaded from a local folder.

No weights can be downloaded here, so the pipeline is assembled from locally created checkpoints laid
out like ``pyannote/speaker-diarization-community-1`` (``config.yaml`` + ``segmentation/`` +
``embedding/`` + ``plda/``): a randomly initialised PyanNet segmentation model (powerset, 3 local
speakers), a randomly initialised WeSpeaker ResNet34 embedding model and a valid PLDA transform. The
diarization it produces is meaningless, but every code path is the production one: config parsing,
``$model/`` subfolder expansion, checkpoint loading, sliding-window segmentation, embeddings, VBx
clustering, and our conversion of its output into turns, a Transcript and RTTM.

Tests marked ``pyannote`` need the optional extra (``make test-pyannote`` builds its own venv); they
skip when pyannote.audio is not importable, except when ``CALLQA_REQUIRE_PYANNOTE=1``, where that is a
failure. The error-path tests at the bottom need no pyannote and run in the main venv.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from callqa.asr.diarize import _load_pyannote, diarize
from callqa.asr.options import AsrOptions, DiarizeOptions

from callqa.types import DecodedAudio, Turn

SAMPLE_RATE_HZ = 16_000
REQUIRE_PYANNOTE = os.environ.get("CALLQA_REQUIRE_PYANNOTE", "") == "1"


def _require_pyannote() -> None:
    if importlib.util.find_spec("pyannote.audio") is None:
        reason = "pyannote.audio is not installed (optional extra; run `make test-pyannote`)"
        if REQUIRE_PYANNOTE:
            pytest.fail(f"CALLQA_REQUIRE_PYANNOTE=1: {reason}")
        pytest.skip(reason)


def _save_checkpoint(model, path: Path) -> None:
    """Write ``model`` as the Lightning checkpoint that ``Model.from_pretrained`` reads."""
    import lightning
    import torch

    checkpoint = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
    }
    model.on_save_checkpoint(checkpoint)  # adds pyannote.audio version, architecture, specifications
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)


def build_local_pipeline(root: Path, *, seed: int = 0) -> Path:
    """Create a community-1-like pyannote pipeline folder with randomly initialised models.

    Returns:
        The folder (it holds ``config.yaml``).
    """
    import torch
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import XVectorMFCC
    from pyannote.audio.models.segmentation import PyanNet

    torch.manual_seed(seed)
    # Small LSTM/linear layers keep the CPU test fast; the architecture and code path are PyanNet's.
    segmentation = PyanNet(sample_rate=SAMPLE_RATE_HZ, lstm={"hidden_size": 32, "num_layers": 1},
                           linear={"hidden_size": 32, "num_layers": 1})
    segmentation.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=5.0,
        min_duration=5.0,
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    segmentation.build()  # the powerset classifier depends on the specifications
    segmentation.eval()
    _save_checkpoint(segmentation, root / "segmentation" / "pytorch_model.bin")

    embedding = XVectorMFCC(sample_rate=SAMPLE_RATE_HZ)
    embedding.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=5.0, min_duration=0.5,
    )
    embedding.eval()
    _save_checkpoint(embedding, root / "embedding" / "pytorch_model.bin")

    # PLDA for VBx: centering + an orthonormal LDA projection, identity PLDA transform with decreasing
    # between-class variances (the files pyannote.audio.utils.vbx.vbx_setup reads).
    rng = np.random.default_rng(seed)
    dim, lda_dim = int(embedding.dimension), 128
    lda, _ = np.linalg.qr(rng.standard_normal((dim, lda_dim)))
    (root / "plda").mkdir(parents=True, exist_ok=True)
    np.savez(root / "plda" / "xvec_transform.npz", mean1=np.zeros(dim), mean2=np.zeros(lda_dim), lda=lda)
    np.savez(root / "plda" / "plda.npz", mu=np.zeros(lda_dim), tr=np.eye(lda_dim),
             psi=np.linspace(10.0, 0.1, lda_dim))

    (root / "config.yaml").write_text(
        "version: 4.0.0\n"
        "pipeline:\n"
        "  name: pyannote.audio.pipelines.SpeakerDiarization\n"
        "  params:\n"
        "    segmentation: $model/segmentation\n"
        "    embedding: $model/embedding\n"
        "    plda: $model/plda\n"
        "    clustering: VBxClustering\n"
        "    segmentation_step: 0.5\n"
        "    segmentation_batch_size: 8\n"
        "    embedding_batch_size: 8\n"
        "    embedding_exclude_overlap: true\n"
        "params:\n"
        "  segmentation:\n"
        "    min_duration_off: 0.0\n"
        "  clustering:\n"
        "    threshold: 0.6\n"
        "    Fa: 0.07\n"
        "    Fb: 0.8\n",
        encoding="utf-8",
    )
    return root


@pytest.fixture(scope="module")
def local_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_pyannote()
    return build_local_pipeline(tmp_path_factory.mktemp("pipeline"))


@pytest.fixture(scope="module")
def call_audio(two_party_call) -> np.ndarray:
    """The festival two-voice call (manager festival voice, client pitched down), mono 16 kHz."""
    return two_party_call.mono


def _check_turns(turns: list[Turn], duration_s: float, max_speakers: int) -> None:
    assert turns, "the pipeline found no speech at all"
    assert all(isinstance(t, Turn) for t in turns)
    for turn in turns:
        assert 0.0 <= turn.start_s < turn.end_s <= duration_s + 1e-3
    assert [t.start_s for t in turns] == sorted(t.start_s for t in turns)
    speakers = list(dict.fromkeys(t.speaker for t in turns))  # in order of first appearance
    assert speakers == [f"S{i}" for i in range(len(speakers))]
    assert 1 <= len(speakers) <= max_speakers


@pytest.mark.pyannote
def test_backend_matches_the_pipeline_output(local_pipeline, call_audio):
    import torch

    duration_s = call_audio.shape[0] / SAMPLE_RATE_HZ
    options = DiarizeOptions(backend="pyannote", pyannote_model=str(local_pipeline), device="cpu", num_speakers=2)
    turns = diarize(call_audio, options)
    _check_turns(turns, duration_s, max_speakers=2)

    # Same pipeline, called directly: our turns are its exclusive (overlap-free) diarization.
    pipeline = _load_pyannote(str(local_pipeline), None, "cpu")
    output = pipeline({"waveform": torch.from_numpy(call_audio)[None, :], "sample_rate": SAMPLE_RATE_HZ},
                      num_speakers=2)
    exclusive = output.exclusive_speaker_diarization
    assert len(turns) <= len(list(exclusive.itertracks()))
    assert len({t.speaker for t in turns}) == len(exclusive.labels())
    expected_s = sum(min(seg.end, duration_s) - max(seg.start, 0.0) for seg in exclusive.get_timeline().support())
    assert sum(t.end_s - t.start_s for t in turns) == pytest.approx(expected_s, abs=0.01 * len(turns) + 1e-3)
    # Overlap-free: consecutive turns do not intersect.
    assert all(a.end_s <= b.start_s + 1e-6 for a, b in zip(turns, turns[1:], strict=False))


@pytest.mark.pyannote
def test_config_file_path_and_speaker_estimation(local_pipeline, call_audio):
    """``pyannote_model`` may also name the config.yaml itself; num_speakers=None bounds by max_speakers."""
    duration_s = call_audio.shape[0] / SAMPLE_RATE_HZ
    options = DiarizeOptions(backend="pyannote", pyannote_model=str(local_pipeline / "config.yaml"),
                             device="cpu", num_speakers=None, max_speakers=3)
    _check_turns(diarize(call_audio, options), duration_s, max_speakers=3)


@pytest.mark.pyannote
def test_short_clip_shorter_than_one_chunk(local_pipeline, call_audio):
    """A 2 s clip (less than the model's 5 s chunk) still gives turns inside the clip."""
    clip = np.ascontiguousarray(call_audio[: 2 * SAMPLE_RATE_HZ])
    options = DiarizeOptions(backend="pyannote", pyannote_model=str(local_pipeline), device="cpu")
    turns = diarize(clip, options)
    for turn in turns:
        assert 0.0 <= turn.start_s < turn.end_s <= 2.0 + 1e-3


@pytest.mark.pyannote
@pytest.mark.slow
def test_transcribe_call_with_pyannote_backend(local_pipeline, two_party_call, model_cache):
    """Whisper + the pyannote backend through transcribe_call: turns, speakers, Transcript and RTTM."""
    from callqa.asr import transcribe_call
    from callqa.asr.evaluation import read_rttm
    from callqa.asr.export import to_json, to_rttm

    audio = DecodedAudio(two_party_call.mono[None, :])
    diar = DiarizeOptions(backend="pyannote", pyannote_model=str(local_pipeline), device="cpu", num_speakers=2)
    transcript = transcribe_call(audio, AsrOptions(cache_dir=model_cache, device="cpu", diarization=diar))
    assert transcript.segments and transcript.turns
    _check_turns(list(transcript.turns), audio.duration_s, max_speakers=2)
    turn_speakers = {t.speaker for t in transcript.turns}
    assert {s.speaker for s in transcript.segments} <= turn_speakers
    assert set(transcript.roles) <= turn_speakers
    assert all(w.speaker == s.speaker for s in transcript.segments for w in s.words)
    assert "доставка" in transcript.text.lower()

    rttm = to_rttm(transcript, file_id="pyannote")
    rows = rttm.splitlines()
    assert len(rows) == len(transcript.turns)
    assert all(r.startswith("SPEAKER pyannote 1 ") for r in rows)
    path = model_cache.parent / "pyannote.rttm"
    path.write_text(rttm, encoding="utf-8")
    for parsed, turn in zip(read_rttm(path), sorted(transcript.turns, key=lambda t: t.start_s), strict=True):
        assert parsed.speaker == turn.speaker
        assert parsed.start_s == pytest.approx(turn.start_s, abs=1e-3)
        assert parsed.end_s == pytest.approx(turn.end_s, abs=2e-3)
    assert '"turns"' in to_json(transcript)


# --- error paths: no pyannote needed, run in the main venv -------------------------------------------


def test_missing_pyannote_is_a_clear_value_error(monkeypatch, tmp_path):
    _load_pyannote.cache_clear()
    monkeypatch.setitem(sys.modules, "pyannote.audio", None)  # import fails as if not installed
    (tmp_path / "config.yaml").write_text("pipeline: {}\n", encoding="utf-8")
    options = DiarizeOptions(backend="pyannote", pyannote_model=str(tmp_path), device="cpu")
    with pytest.raises(ValueError, match=r"needs pyannote\.audio.*callqa\[pyannote\].*embedded"):
        diarize(np.zeros(SAMPLE_RATE_HZ, dtype=np.float32), options)
    _load_pyannote.cache_clear()


def test_pyannote_backend_needs_a_model():
    with pytest.raises(ValueError, match="needs pyannote_model"):
        diarize(np.zeros(SAMPLE_RATE_HZ, dtype=np.float32), DiarizeOptions(backend="pyannote"))


def test_missing_local_pipeline_path_is_a_clear_value_error(tmp_path):
    missing = tmp_path / "no-such-pipeline"
    options = DiarizeOptions(backend="pyannote", pyannote_model=str(missing), device="cpu")
    with pytest.raises(ValueError, match="not found"):
        diarize(np.zeros(SAMPLE_RATE_HZ, dtype=np.float32), options)
