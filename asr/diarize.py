"""Who spoke when in a mono call: two backends behind :func:`diarize`.

``embedded`` (offline default): Silero VAD gates speech; resemblyzer embeddings on short
overlapping windows (1.5 s, step 0.75 s) are clustered on cosine similarity (average-linkage AHC
refined by k-means on the unit sphere); a Viterbi pass over 50 ms frames with a speaker-switch
penalty resegments the speech. Embeddings are computed region by region, so memory grows only
with the number of windows, not with the audio.

``pyannote``: a pyannote.audio pipeline from a local path or a hub id (optional extra).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from callqa.asr.options import DiarizeOptions
from callqa.asr.speaker_encoder import MEL_HOP_S, load_speaker_encoder, mel_frames
from callqa.asr.vad import SpeechRegion, refine_regions, speech_probabilities, speech_regions

from callqa.types import Turn

logger = logging.getLogger(__name__)

GRID_S = 0.05  # resegmentation frame
_MIN_WINDOW_S = 0.4  # shorter speech is labelled by its neighbours only
_SIM_SCALE = 20.0  # cosine similarity -> log-likelihood scale for the Viterbi pass
_CLUSTER_SAMPLE = 2000  # AHC on at most this many windows; the rest are assigned to centroids


def _encoder_device(device: str) -> str:
    if device == "auto":
        try:
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:
            return "cpu"
    return device


def window_embeddings(
    samples: np.ndarray, regions: Sequence[SpeechRegion], options: DiarizeOptions, sample_rate_hz: int = 16_000
) -> tuple[np.ndarray, np.ndarray]:
    """Embed sliding windows inside speech regions.

    Returns:
        (spans, embeddings): float array (n_windows, 2) of start/end seconds and float32 array
        (n_windows, 256) of L2-normalised embeddings.
    """
    encoder = load_speaker_encoder(_encoder_device(options.device))
    win = int(round(options.window_s / MEL_HOP_S))
    step = max(1, int(round(options.step_s / MEL_HOP_S)))
    spans: list[tuple[float, float]] = []
    embeds: list[np.ndarray] = []
    batch: list[np.ndarray] = []
    for region in regions:
        if region.duration_s < _MIN_WINDOW_S:
            continue
        first = int(region.start_s * sample_rate_hz)
        last = int(region.end_s * sample_rate_hz)
        mels = mel_frames(samples[first:last])
        n = mels.shape[0]
        if n < win:
            # Tile a short region up to the window length so it batches with the others.
            reps = int(np.ceil(win / n))
            batch.append(np.tile(mels, (reps, 1))[:win])
            spans.append((region.start_s, region.end_s))
        else:
            starts = list(range(0, n - win + 1, step))
            if starts[-1] != n - win:
                starts.append(n - win)
            for s in starts:
                batch.append(mels[s:s + win])
                spans.append((region.start_s + s * MEL_HOP_S, region.start_s + (s + win) * MEL_HOP_S))
        if len(batch) >= 256:
            embeds.append(encoder.embed(np.stack(batch)))
            batch = []
    if batch:
        embeds.append(encoder.embed(np.stack(batch)))
    if not spans:
        return np.zeros((0, 2)), np.zeros((0, 256), dtype=np.float32)
    return np.asarray(spans, dtype=np.float64), np.concatenate(embeds)


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)


def cluster_embeddings(embeddings: np.ndarray, num_speakers: int | None, max_speakers: int = 6,
                       seed: int = 0) -> np.ndarray:
    """Cluster unit vectors on cosine similarity; returns centroids, shape (k, 256)."""
    from sklearn.cluster import AgglomerativeClustering

    n = embeddings.shape[0]
    rng = np.random.default_rng(seed)
    sample = embeddings if n <= _CLUSTER_SAMPLE else embeddings[np.sort(rng.choice(n, _CLUSTER_SAMPLE, replace=False))]

    def refine(labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        centroids = _normalise(np.stack([sample[labels == j].mean(axis=0) for j in range(k)]))
        for _ in range(10):  # spherical k-means refinement
            new = np.argmax(sample @ centroids.T, axis=1)
            if np.array_equal(new, labels) or len(set(new.tolist())) < k:
                break
            labels = new
            centroids = _normalise(np.stack([sample[labels == j].mean(axis=0) for j in range(k)]))
        return centroids, labels

    def fit(k: int) -> tuple[np.ndarray, np.ndarray]:
        if k == 1 or sample.shape[0] <= k:
            return _normalise(sample.mean(axis=0, keepdims=True)), np.zeros(sample.shape[0], dtype=int)
        from sklearn.cluster import KMeans, SpectralClustering
        from sklearn.metrics import silhouette_score

        candidates = [AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average").fit_predict(sample),
                      KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(sample)]
        if sample.shape[0] > 2 * k:
            affinity = np.clip(sample @ sample.T, 0.0, 1.0)
            candidates.append(SpectralClustering(n_clusters=k, affinity="precomputed", random_state=seed,
                                                 assign_labels="cluster_qr").fit_predict(affinity))
        # Average linkage may split off one outlier window; keep the partition with the best silhouette.
        best: tuple[float, np.ndarray, np.ndarray] | None = None
        for labels in candidates:
            if len(set(labels.tolist())) < k:
                continue
            centroids, labels = refine(labels, k)
            if len(set(labels.tolist())) < k:
                continue
            score = float(silhouette_score(sample, labels, metric="cosine"))
            if best is None or score > best[0]:
                best = (score, centroids, labels)
        if best is None:
            return _normalise(sample.mean(axis=0, keepdims=True)), np.zeros(sample.shape[0], dtype=int)
        return best[1], best[2]

    if num_speakers is not None:
        return fit(min(num_speakers, max(1, n)))[0]
    from sklearn.metrics import silhouette_score

    best_k, best_score, best = 1, 0.1, fit(1)[0]  # silhouette must beat 0.1 to split at all
    for k in range(2, min(max_speakers, sample.shape[0] - 1) + 1):
        centroids, labels = fit(k)
        if len(set(labels.tolist())) < 2:
            continue
        score = float(silhouette_score(sample, labels, metric="cosine"))
        if score > best_score:
            best_k, best_score, best = k, score, centroids
    logger.debug("estimated %d speakers (silhouette %.3f)", best_k, best_score)
    return best


def _viterbi(loglik: np.ndarray, switch_penalty: np.ndarray) -> np.ndarray:
    """Best label path; loglik (T, K), switch_penalty (T,) cost of changing label before frame t."""
    t_len, k = loglik.shape
    back = np.zeros((t_len, k), dtype=np.int32)
    score = loglik[0].copy()
    for t in range(1, t_len):
        best_prev = int(np.argmax(score))
        stay = score
        switch = score[best_prev] - switch_penalty[t]
        choose_switch = switch > stay
        back[t] = np.where(choose_switch, best_prev, np.arange(k))
        score = np.where(choose_switch, switch, stay) + loglik[t]
    path = np.zeros(t_len, dtype=np.int32)
    path[-1] = int(np.argmax(score))
    for t in range(t_len - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def resegment(regions: Sequence[SpeechRegion], spans: np.ndarray, embeddings: np.ndarray,
              centroids: np.ndarray, options: DiarizeOptions) -> list[Turn]:
    """Label 50 ms speech frames by window similarity to centroids, smoothed by Viterbi."""
    if not regions:
        return []
    k = centroids.shape[0]
    # Speech frames on a global grid.
    frame_times: list[np.ndarray] = []
    for region in regions:
        first, last = int(np.floor(region.start_s / GRID_S)), int(np.ceil(region.end_s / GRID_S))
        frame_times.append(np.arange(first, last))
    frames = np.unique(np.concatenate(frame_times))
    centres = (frames + 0.5) * GRID_S
    sims = embeddings @ centroids.T if embeddings.size else np.zeros((0, k))
    total = np.zeros((frames.shape[0], k))
    count = np.zeros(frames.shape[0])
    for (start_s, end_s), sim in zip(spans, sims, strict=True):
        lo, hi = np.searchsorted(centres, start_s), np.searchsorted(centres, end_s)
        # Triangular weight: a window speaks most for its centre.
        mid, half = (start_s + end_s) / 2, max((end_s - start_s) / 2, 1e-3)
        weight = np.clip(1.0 - np.abs(centres[lo:hi] - mid) / half, 0.05, 1.0)
        total[lo:hi] += weight[:, None] * sim[None, :]
        count[lo:hi] += weight
    covered = count > 0
    if not covered.any():
        label = np.zeros(frames.shape[0], dtype=np.int32)
    else:
        loglik = np.zeros_like(total)
        loglik[covered] = _SIM_SCALE * total[covered] / count[covered, None]
        # Uncovered frames (very short speech) carry no evidence: flat likelihood.
        gaps = np.diff(centres, prepend=centres[0]) > GRID_S * 1.5
        penalty = np.where(gaps, options.switch_penalty * 0.5, options.switch_penalty)
        label = _viterbi(loglik, penalty)
    # Frames -> turns, split at gaps.
    turns: list[list[float | int]] = []
    for i, frame in enumerate(frames):
        start_s, end_s = frame * GRID_S, (frame + 1) * GRID_S
        if turns and turns[-1][2] == label[i] and abs(turns[-1][1] - start_s) < 1e-6:
            turns[-1][1] = end_s
        else:
            turns.append([start_s, end_s, int(label[i])])
    # Intersect with the speech regions (the grid may overshoot by < one frame).
    clipped: list[tuple[float, float, int]] = []
    j = 0
    for start_s, end_s, lab in turns:
        while j < len(regions) and regions[j].end_s <= start_s:
            j += 1
        k_region = j
        while k_region < len(regions) and regions[k_region].start_s < end_s:
            s, e = max(start_s, regions[k_region].start_s), min(end_s, regions[k_region].end_s)
            if e > s:
                clipped.append((float(s), float(e), int(lab)))
            k_region += 1
    return _finalise(clipped, options.min_turn_s)


def _finalise(turns: list[tuple[float, float, int]], min_turn_s: float) -> list[Turn]:
    """Absorb too-short turns into the neighbour they touch, name speakers by first appearance."""
    items = [list(t) for t in turns]
    changed = True
    while changed and len(items) > 1:
        changed = False
        for i, (start_s, end_s, _lab) in enumerate(items):
            if end_s - start_s >= min_turn_s:
                continue
            neighbours = []
            if i > 0 and abs(items[i - 1][1] - start_s) < 1e-6:
                neighbours.append(i - 1)
            if i + 1 < len(items) and abs(items[i + 1][0] - end_s) < 1e-6:
                neighbours.append(i + 1)
            if not neighbours:
                continue
            j = max(neighbours, key=lambda n: items[n][1] - items[n][0])
            items[i][2] = items[j][2]
            changed = True
        merged: list[list] = []
        for item in items:
            if merged and merged[-1][2] == item[2] and abs(merged[-1][1] - item[0]) < 1e-6:
                merged[-1][1] = item[1]
            else:
                merged.append(item)
        items = merged
    names: dict[int, str] = {}
    out = []
    for start_s, end_s, lab in items:
        names.setdefault(lab, f"S{len(names)}")
        out.append(Turn(start_s=round(start_s, 3), end_s=round(end_s, 3), speaker=names[lab]))
    return out


def diarize_embedded(samples: np.ndarray, options: DiarizeOptions, *, vad_probs: np.ndarray | None = None,
                     sample_rate_hz: int = 16_000) -> list[Turn]:
    """Offline diarization: VAD-gated windows, clustering, Viterbi resegmentation."""
    probs = vad_probs if vad_probs is not None else speech_probabilities(samples)
    duration_s = samples.shape[0] / sample_rate_hz
    regions = speech_regions(probs, threshold=options.vad_threshold, min_speech_s=0.15,
                             min_silence_s=options.min_silence_s, pad_s=0.05, duration_s=duration_s)
    if options.refine_edges:
        regions = refine_regions(samples, regions, sample_rate_hz=sample_rate_hz)
    if not regions:
        return []
    spans, embeddings = window_embeddings(samples, regions, options, sample_rate_hz)
    if embeddings.shape[0] == 0:
        return _finalise([(r.start_s, r.end_s, 0) for r in regions], options.min_turn_s)
    centroids = cluster_embeddings(embeddings, options.num_speakers, options.max_speakers)
    return resegment(regions, spans, embeddings, centroids, options)


def _is_local_path(model: str) -> bool:
    """True when ``model`` names a file or folder rather than a hub id such as ``owner/name``."""
    return (Path(model).expanduser().exists() or model.startswith(("/", "./", "../", "~", "\\"))
            or model.endswith((".yaml", ".yml")) or (len(model) > 1 and model[1] == ":"))


@functools.lru_cache(maxsize=2)
def _load_pyannote(model: str, token: str | None, device: str):  # pragma: no cover - optional extra
    """Load (once per model, token and device) a pyannote.audio pipeline.

    ``model`` is a local ``config.yaml``, a folder holding one (``$model/...`` entries in it are
    resolved against that folder), or a hub id (``pyannote/speaker-diarization-community-1``).
    """
    try:
        from pyannote.audio import Pipeline
    except ImportError as exc:
        raise ValueError(
            "diarization backend 'pyannote' needs pyannote.audio: pip install 'callqa[pyannote]' "
            "(or use backend 'embedded')"
        ) from exc
    checkpoint: str | Path = model
    if _is_local_path(model):
        checkpoint = Path(model).expanduser()
        if checkpoint.is_dir() and not (checkpoint / "config.yaml").is_file():
            raise ValueError(f"pyannote pipeline folder {str(checkpoint)!r} has no config.yaml")
    try:
        try:
            pipeline = Pipeline.from_pretrained(checkpoint, token=token)
        except TypeError as exc:  # pyannote.audio 3.x spells the token use_auth_token
            if "token" not in str(exc):
                raise
            pipeline = Pipeline.from_pretrained(checkpoint, use_auth_token=token)
    except (OSError, KeyError) as exc:
        raise ValueError(f"pyannote pipeline {model!r} could not be loaded: {exc}") from exc
    if pipeline is None:
        raise ValueError(f"pyannote pipeline {model!r} could not be loaded (gated model without a token?)")
    if device != "cpu":
        import torch

        pipeline.to(torch.device(device))
    return pipeline


def _pyannote_annotation(output):  # pragma: no cover - optional extra
    """The Annotation to turn into turns: pyannote 4's overlap-free ``exclusive_speaker_diarization``
    (meant for aligning with a transcript), else its ``speaker_diarization``, else a 3.x Annotation."""
    for name in ("exclusive_speaker_diarization", "speaker_diarization"):
        annotation = getattr(output, name, None)
        if annotation is not None:
            return annotation
    return output


def diarize_pyannote(samples: np.ndarray, options: DiarizeOptions, sample_rate_hz: int = 16_000) -> list[Turn]:
    """Diarization with a pyannote.audio pipeline (local path or hub id + token).

    Returns:
        Time-ordered, overlap-free turns clipped to the signal, speakers ``S0``, ``S1``... by first
        appearance.

    Raises:
        ValueError: no ``pyannote_model``, a local path that does not exist, pyannote.audio not
            installed, a pipeline that cannot be loaded, or samples that are not a 1-D array.
    """
    if not options.pyannote_model:
        raise ValueError("diarization backend 'pyannote' needs pyannote_model (a local path or a hub id)")
    model = options.pyannote_model
    if _is_local_path(model) and not Path(model).expanduser().exists():
        raise ValueError(f"pyannote pipeline {model!r} not found: give a local config.yaml, a folder holding "
                         "one, or a hub id with pyannote_token")
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise ValueError(f"diarization expects mono samples of shape (n_samples,), got {samples.shape}")
    pipeline = _load_pyannote(model, options.pyannote_token, _encoder_device(options.device))
    duration_s = samples.shape[0] / sample_rate_hz
    if samples.shape[0] == 0:
        return []
    import torch  # pragma: no cover - optional extra

    waveform = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None, :]
    kwargs = {"num_speakers": options.num_speakers} if options.num_speakers else {"max_speakers": options.max_speakers}
    output = pipeline({"waveform": waveform, "sample_rate": sample_rate_hz}, **kwargs)
    annotation = _pyannote_annotation(output)
    labels: dict[str, int] = {}
    turns = []
    for segment, _, label in annotation.itertracks(yield_label=True):
        start_s, end_s = max(0.0, float(segment.start)), min(duration_s, float(segment.end))
        if end_s > start_s:
            turns.append((start_s, end_s, labels.setdefault(label, len(labels))))
    turns.sort()
    return _finalise(turns, 0.0)


def diarize(samples: np.ndarray, options: DiarizeOptions, *, vad_probs: np.ndarray | None = None,
            sample_rate_hz: int = 16_000, progress: Callable[[float], None] | None = None) -> list[Turn]:
    """Speaker turns of a mono signal.

    Args:
        samples: float32 array, shape (n_samples,), 16 kHz.
        options: backend and its settings.
        vad_probs: Silero probabilities already computed for ``samples`` (saves a pass).
        sample_rate_hz: must be 16 kHz.

    Returns:
        Time-ordered turns with speakers ``S0``, ``S1``... (S0 speaks first).
    """
    if sample_rate_hz != 16_000:
        raise ValueError(f"diarization expects 16 kHz audio, got {sample_rate_hz} Hz")
    if options.backend == "pyannote":
        return diarize_pyannote(samples, options, sample_rate_hz)
    return diarize_embedded(samples, options, vad_probs=vad_probs, sample_rate_hz=sample_rate_hz)
