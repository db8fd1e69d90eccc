"""Ingest: find recordings, read their metadata, decode them, keep the originals content-addressed."""

from callqa.ingest.decode import SUPPORTED_EXTENSIONS, AudioDecodeError, decode_audio
from callqa.ingest.discover import discover
from callqa.ingest.metadata import MetadataError, metadata_from_mapping, read_manifest, read_sidecar
from callqa.ingest.store import sha256_file, store_file

__all__ = [
    "SUPPORTED_EXTENSIONS", "AudioDecodeError", "MetadataError", "decode_audio", "discover",
    "metadata_from_mapping", "read_manifest", "read_sidecar", "sha256_file", "store_file",
]
