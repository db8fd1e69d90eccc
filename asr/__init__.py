"""Speech recognition stage: call audio in, speaker-attributed word-timed transcript out.

Pure: takes ``DecodedAudio`` and option dataclasses, returns ``Transcript`` (callqa.types).
"""

from callqa.asr.models import ModelInfo, ModelNotFoundError, ResolvedModel, list_models, resolve_model
from callqa.asr.options import AsrOptions, DiarizeOptions, resolve_runtime
from callqa.asr.pipeline import transcribe_call

__all__ = [
    "AsrOptions",
    "DiarizeOptions",
    "ModelInfo",
    "ModelNotFoundError",
    "ResolvedModel",
    "list_models",
    "resolve_model",
    "resolve_runtime",
    "transcribe_call",
]
