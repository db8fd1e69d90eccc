"""Content-addressed audio store: originals kept once, under <audio_dir>/ab/cd/<sha256><ext>."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def safe_extension(name: str) -> str:
    ext = Path(name).suffix.lower()
    return ext if ext.isascii() and ext[1:].isalnum() and len(ext) <= 6 else ".bin"


def relative_path(sha256: str, ext: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}{ext}"


def store_file(audio_dir: Path, source: Path, sha256: str) -> str:
    """Copy ``source`` into the store (atomically) unless already there; returns the relative path."""
    rel = relative_path(sha256, safe_extension(source.name))
    target = audio_dir / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return rel


def receive_stream(stream: BinaryIO, dest_dir: Path, *, max_bytes: int) -> tuple[Path, str, int]:
    """Write an upload stream to a temp file in ``dest_dir`` while hashing it.

    Raises:
        ValueError: the stream exceeds ``max_bytes``.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ValueError(f"upload exceeds the limit of {max_bytes // (1 << 20)} MB")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        os.unlink(tmp)
        raise
    return Path(tmp), digest.hexdigest(), size


def delete_file(audio_dir: Path, rel: str | None) -> bool:
    if not rel:
        return False
    target = audio_dir / rel
    try:
        target.unlink()
        return True
    except FileNotFoundError:
        return False
