"""Expand CLI paths (files or folders, recursive) into recordings with their metadata."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from callqa.ingest.decode import SUPPORTED_EXTENSIONS
from callqa.ingest.metadata import read_manifest, read_sidecar

from callqa.types import CallMetadata


@dataclass(frozen=True)
class Recording:
    path: Path
    metadata: CallMetadata | None
    metadata_error: str | None = None


def discover(paths: list[Path], *, manifest: Path | None = None) -> list[Recording]:
    """Files given directly are taken whatever their extension (decode decides); folders are searched
    recursively for supported extensions. Metadata: manifest row first, else a sidecar JSON.

    Raises:
        FileNotFoundError: a path does not exist.
    """
    rows = read_manifest(manifest) if manifest else {}
    files: list[Path] = []
    for p in paths:
        if not p.exists():
            raise FileNotFoundError(f"no such file or folder: {p}")
        if p.is_dir():
            files.extend(
                sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUPPORTED_EXTENSIONS)
            )
        else:
            files.append(p)
    out: list[Recording] = []
    seen: set[Path] = set()
    for f in files:
        resolved = f.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        meta: CallMetadata | None = rows.get(f.name)
        error = None
        if meta is None:
            try:
                meta = read_sidecar(f)
            except ValueError as exc:
                error = str(exc)
        out.append(Recording(path=f, metadata=meta, metadata_error=error))
    return out
