"""One Settings object for the edges (CLI, storage, tasks, API), read from CALLQA_* env vars or .env.

Pure stages (asr, scoring) never read it: the edges turn it into option dataclasses.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "callqa"


class Settings(BaseSettings):
    """callqa configuration. Every field is settable as CALLQA_<NAME> (e.g. CALLQA_DATABASE_URL)."""

    model_config = SettingsConfigDict(env_prefix="CALLQA_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir, description="Audio store, SQLite file, caches")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/callqa.db"
    )
    broker_url: str | None = Field(
        default=None, description="Celery broker (redis://..., amqp://...); unset = run tasks in-process"
    )
    result_backend: str | None = Field(default=None, description="Celery result backend (optional)")

    # ASR
    asr_model: str = Field(default="base", description="Local path, registry name or hub id of a faster-whisper model")
    asr_device: str = "auto"
    asr_compute_type: str = "auto"
    asr_beam_size: int = 5
    asr_batch_size: int = Field(default=0, description="Batched inference size; 0 = auto (16 on GPU, unbatched on CPU)")
    asr_cpu_threads: int = 0
    asr_language: str | None = "ru"
    model_cache_dir: Path | None = Field(default=None, description="Where joined/downloaded models live")
    diarization_backend: str = "embedded"
    pyannote_model: str | None = None
    hf_token: str | None = None
    default_channel_map: str = Field(default="left", description="Which stereo channel is the manager: left or right")

    # Scoring
    checklists_dir: Path | None = Field(default=None, description="Extra checklist YAML files (override packaged)")
    company_names: str = Field(default="", description="Comma-separated company/product names for hotwords")
    spam_alert_share: float = 0.03

    # API
    max_upload_mb: int = 500
    webhook_timeout_s: float = 5.0
    webhook_max_attempts: int = 5

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'callqa.db'}"

    @property
    def audio_dir(self) -> Path:
        return self.data_dir / "audio"

    @property
    def resolved_model_cache_dir(self) -> Path:
        return self.model_cache_dir or (Path.home() / ".cache" / "callqa" / "models")

    @property
    def company_name_list(self) -> tuple[str, ...]:
        return tuple(n.strip() for n in self.company_names.split(",") if n.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
