"""Call metadata from a JSON sidecar next to the recording or from a CSV manifest."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from callqa.types import CallMetadata, ChannelMap

FIELDS: tuple[str, ...] = (
    "external_id", "manager", "direction", "source_channel", "campaign", "client_phone",
    "started_at", "ring_s", "answered", "crm_deal_id", "channel_map",
)


class MetadataError(ValueError):
    """A sidecar or manifest that cannot be read; the message names the file and the field."""


def _parse_bool(value: Any, *, where: str) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "да"):
        return True
    if text in ("0", "false", "no", "n", "нет"):
        return False
    raise MetadataError(f"{where}: answered must be true or false, got {value!r}")


def _parse_datetime(value: Any, *, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise MetadataError(f"{where}: started_at must be ISO 8601 (2026-11-28T10:15:00+03:00), got {value!r}") from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def metadata_from_mapping(data: dict[str, Any], *, where: str = "metadata") -> CallMetadata:
    """Validate a mapping (sidecar, manifest row, upload form) into CallMetadata."""
    clean = {k: v for k, v in data.items() if k in FIELDS and v not in (None, "")}
    try:
        ring = clean.get("ring_s")
        channel_map = clean.get("channel_map")
        if isinstance(channel_map, str) and channel_map.strip().startswith("{"):
            channel_map = json.loads(channel_map)
        meta = CallMetadata(
            external_id=str(clean["external_id"]) if "external_id" in clean else None,
            manager=str(clean["manager"]).strip() if "manager" in clean else None,
            direction=str(clean.get("direction", "unknown")).strip().lower(),
            source_channel=clean.get("source_channel"),
            campaign=clean.get("campaign"),
            client_phone=str(clean["client_phone"]) if "client_phone" in clean else None,
            started_at=_parse_datetime(clean.get("started_at"), where=where),
            ring_s=float(ring) if ring is not None else None,
            answered=_parse_bool(clean.get("answered"), where=where),
            crm_deal_id=str(clean["crm_deal_id"]) if "crm_deal_id" in clean else None,
            channel_map=ChannelMap.parse(channel_map) if channel_map is not None else None,
        )
    except MetadataError:
        raise
    except (ValueError, TypeError) as exc:
        raise MetadataError(f"{where}: {exc}") from exc
    return meta


def read_sidecar(audio_path: Path) -> CallMetadata | None:
    """Metadata from ``<audio stem>.json`` next to the file, or None when there is none."""
    sidecar = audio_path.with_suffix(".json")
    if not sidecar.is_file():
        return None
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetadataError(f"{sidecar.name}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise MetadataError(f"{sidecar.name}: expected a JSON object")
    return metadata_from_mapping(data, where=sidecar.name)


def read_manifest(path: Path) -> dict[str, CallMetadata]:
    """CSV manifest with a ``file`` column (path or file name) plus any of FIELDS; returns name -> metadata."""
    out: dict[str, CallMetadata] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "file" not in reader.fieldnames:
            raise MetadataError(f"{path.name}: manifest needs a 'file' column; has {reader.fieldnames}")
        for line_no, row in enumerate(reader, start=2):
            name = (row.pop("file") or "").strip()
            if not name:
                raise MetadataError(f"{path.name}:{line_no}: empty 'file' value")
            out[Path(name).name] = metadata_from_mapping(row, where=f"{path.name}:{line_no}")
    return out
